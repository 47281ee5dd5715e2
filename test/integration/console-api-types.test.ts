import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { ROOT } from '../helpers/process';

/**
 * The console's API types are generated from the live document; a route change without `npm run gen:api`
 * fails here. openapi-typescript is ESM, so the comparison runs in the generator script (through tsx), fed
 * with this gateway's own document.
 */
describe(`console API types (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());

  const check = (docFile: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/gen-api-types.ts'), '--check', '--from', docFile], { cwd: ROOT, encoding: 'utf8' });

  it('web/src/lib/api/schema.d.ts matches the gateway’s /openapi.json (run `npm run gen:api` when it does not)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-openapi-'));
    try {
      const doc = (await gw.request('/openapi.json')).body;
      fs.writeFileSync(path.join(dir, 'live.json'), JSON.stringify(doc));
      const live = check(path.join(dir, 'live.json'));
      if (live.status !== 0) throw new Error(`the committed console API types are stale: ${live.stderr.trim()}`);
      // and the check can fail: a document with one more route disagrees with the committed types
      doc.paths['/a-route-nobody-generated'] = { get: { responses: { '200': { description: 'OK' } } } };
      fs.writeFileSync(path.join(dir, 'changed.json'), JSON.stringify(doc));
      const changed = check(path.join(dir, 'changed.json'));
      expect(changed.status).toBe(1);
      expect(changed.stderr).toContain('npm run gen:api');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
