import fs from 'node:fs';
import path from 'node:path';

/**
 * 14.16: the README linked `../shared/DESIGN.md`, a file outside the repository (broken in a clone); its curl
 * example for /v1 had no JSON content type; its PostgreSQL start did not say that no admin is created there.
 */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const docs = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('README and docs/ (14.16)', () => {
  it('link only to files inside the repository that exist', () => {
    const broken: string[] = [];
    for (const file of docs) {
      for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const resolved = path.resolve(ROOT, path.dirname(file), target.split('#')[0]);
        if (!resolved.startsWith(ROOT + path.sep) || !fs.existsSync(resolved)) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the README links the architecture, API and operations pages', () => {
    const readme = read('README.md');
    for (const page of ['docs/architecture.md', 'docs/api.md', 'docs/operations.md']) expect(readme).toContain(`](${page})`);
  });

  it('every curl call to /v1 in the README sends a JSON content type', () => {
    const calls = read('README.md')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((line) => /curl [^|`]*\/v1\//.test(line) && line.includes(' -d '));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call).toMatch(/content-type: application\/json/i);
  });

  it('the README says where the PostgreSQL start gets its first admin', () => {
    const readme = read('README.md');
    const postgresStart = readme.slice(readme.indexOf('Against PostgreSQL'), readme.indexOf('TEST_BACKEND=postgres npm test'));
    expect(postgresStart).toMatch(/No admin is generated on PostgreSQL/);
    expect(postgresStart).toContain('KEYWALLET_ADMIN_EMAIL');
  });
});
