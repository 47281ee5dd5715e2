import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { fakeSecret } from '../helpers/fake-secrets';
import { findLeaks, recordResponses, tableText } from '../helpers/secret-scan';
import { registerWalletCommands } from '../../scripts/commands/wallet';

describe(`wallet import (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: string;
  let responses: string[];
  const secrets: string[] = [];
  const secret = (make: () => string) => {
    const s = make();
    secrets.push(s);
    return s;
  };
  const importBody = (body: unknown, headers?: Record<string, string>) => gw.request('/wallet/import', { method: 'POST', token: admin, body, headers });

  beforeAll(async () => {
    gw = await startTestGateway();
    responses = recordResponses(gw);
    admin = (await gw.user('admin')).token;
  }, 120_000); // PGlite boots slowly on a busy machine
  afterAll(() => gw.close());

  it('imports a JSON array with good and bad entries: a result for each, the good ones stored', async () => {
    const good = secret(fakeSecret.openaiProject);
    const stripeTest = secret(fakeSecret.stripeTest);
    const entries = [
      { secret: good, label: 'openai main', tier: 'free', priority: 1 },
      { secret: secret(fakeSecret.anthropic) }, // no label
      { secret: secret(() => 'not-a-known-format-1234567'), label: 'mystery' },
      { secret: good, label: 'duplicate of #0' },
      { secret: stripeTest, label: 'stripe sandbox', quota: { limit: 100, unit: 'requests', period: 'day' } },
      'just a string',
      { secret: secret(fakeSecret.openaiProject), service: 'nope', label: 'unknown service' },
    ];
    const res = await importBody(entries);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 2, failed: 5 });
    const r = res.body.results;
    expect(r.map((x: { index: number; ok: boolean }) => [x.index, x.ok])).toEqual([[0, true], [1, false], [2, false], [3, false], [4, true], [5, false], [6, false]]);
    expect(r[0]).toMatchObject({ service: 'openai', label: 'openai main', id: expect.any(String) });
    expect(r[1].error).toEqual({ code: 'invalid_request', message: expect.stringContaining('label') });
    expect(r[2].error.message).toMatch(/could not be detected/);
    expect(r[3].error.code).toBe('conflict');
    expect(r[5].error.message).toMatch(/expected object/);
    expect(r[6].error.message).toBe('Unknown service nope');

    const stored = await gw.deps.db('wallet_entries').select('id', 'service', 'environment', 'tier', 'label').orderBy('label');
    expect(stored).toEqual([
      { id: r[0].id, service: 'openai', environment: 'live', tier: 'free', label: 'openai main' },
      { id: r[4].id, service: 'stripe', environment: 'test', tier: 'paid', label: 'stripe sandbox' },
    ]);
    expect(await gw.deps.db('audit_log').where({ action: 'wallet.create' }).pluck('target_id')).toEqual([r[0].id, r[4].id]);
  });

  it('imports dotenv text (as {dotenv} and as text/plain) with labels from the variable names', async () => {
    await gw.request('/services', {
      token: admin,
      body: { slug: 'hexweather', baseUrl: 'http://127.0.0.1:9', auth: { type: 'query', name: 'k' }, keyPattern: '^[0-9a-f]{32}$', allowPrivate: true },
    });
    const openweather = secret(fakeSecret.openweather);
    const anthropic = secret(fakeSecret.anthropic);
    const maps = secret(fakeSecret.googlemaps);
    const broken = secret(() => `"${fakeSecret.openaiProject()}`);
    const unknown = secret(() => 'zzzzzzzzzzzzzzzzzzzzzzzzzz');
    const ambiguous = secret(fakeSecret.openweather);
    const dotenv = [
      '# provider keys',
      `OPENWEATHER_API_KEY=${openweather}`,
      `export ANTHROPIC_API_KEY="${anthropic}"  # comment`,
      '',
      `GOOGLE_MAPS_KEY='${maps}'`,
      `this line is ${unknown} nonsense`,
      'EMPTY_KEY=',
      `BROKEN_KEY=${broken}`,
      `MYSTERY=${unknown}`,
      `WEATHER_KEY=${ambiguous}`,
    ].join('\n');
    const res = await importBody({ dotenv });
    expect(res.status).toBe(200);
    const results = res.body.results as { index: number; ok: boolean; line: number; id?: string; label?: string; service?: string; error?: { message: string } }[];
    expect(results.map((x) => [x.index, x.line, x.label ?? null, x.ok])).toEqual([
      [0, 2, 'OPENWEATHER_API_KEY', true],
      [1, 3, 'ANTHROPIC_API_KEY', true],
      [2, 5, 'GOOGLE_MAPS_KEY', true],
      [3, 6, null, false],
      [4, 7, 'EMPTY_KEY', false],
      [5, 8, 'BROKEN_KEY', false],
      [6, 9, 'MYSTERY', false],
      [7, 10, 'WEATHER_KEY', false],
    ]);
    // the variable name settles a format two services share, when it names one of them
    expect(results.slice(0, 3).map((x) => x.service)).toEqual(['openweather', 'anthropic', 'googlemaps']);
    expect(results[3].error!.message).toBe('line 6 is not NAME=value');
    expect(results[4].error!.message).toBe('EMPTY_KEY (line 7) has no value');
    expect(results[7].error!.message).toMatch(/several services \(hexweather, openweather\)/);
    expect(res.body).toMatchObject({ created: 3, failed: 5 });

    const { entry } = await gw.deps.wallet.get(results[1].id!);
    expect(await gw.deps.wallet.openSecret(entry)).toBe(anthropic);

    const again = secret(fakeSecret.stripeLive);
    const plain = await importBody(`STRIPE_SECRET_KEY=${again}\nANTHROPIC_API_KEY=${anthropic}\n`, { 'content-type': 'text/plain' });
    expect(plain.status).toBe(200);
    expect(plain.body.results.map((x: { ok: boolean; service?: string; error?: { code: string } }) => x.ok || x.error!.code)).toEqual([true, 'conflict']);
    expect(plain.body.results[0]).toMatchObject({ service: 'stripe', label: 'STRIPE_SECRET_KEY' });
  });

  it('refuses an empty import and a malformed body', async () => {
    expect((await importBody({ dotenv: '# nothing\n' })).status).toBe(400);
    expect((await importBody([])).status).toBe(400);
    expect((await importBody({ entries: 'x' })).status).toBe(400);
  });

  it('imports and lists through the CLI with the same code path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-import-'));
    const s1 = secret(fakeSecret.openaiLegacy);
    const s2 = secret(fakeSecret.stripeRestricted);
    const jsonFile = path.join(dir, 'keys.json');
    fs.writeFileSync(jsonFile, JSON.stringify([{ secret: s1, label: 'cli openai' }, { secret: s1, label: 'cli dup' }]));
    const envFile = path.join(dir, '.env');
    fs.writeFileSync(envFile, `STRIPE_RESTRICTED=${s2}\n`);

    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const run = async (...args: string[]) => {
      const program = new Command('keywallet').exitOverride();
      registerWalletCommands(program, (fn) => fn(gw.deps));
      await program.parseAsync(['node', 'keywallet', ...args]);
    };
    try {
      await run('wallet', 'import', jsonFile);
      await run('wallet', 'import', envFile);
      await run('wallet', 'list', '--service', 'stripe');
    } finally {
      write.mockRestore();
      process.exitCode = 0;
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const text = out.join('');
    expect(text).toMatch(/1 created, 1 failed/);
    expect(text).toMatch(/conflict: This secret is already in the wallet/);
    expect(text).toMatch(/0 \(line 1\)\s+ok\s+stripe\s+STRIPE_RESTRICTED/);
    expect(text).toMatch(/STRIPE_RESTRICTED\s+paid\s+100\s+1\s+live\s+active\s+…/);
    expect(findLeaks(secrets, { cli: text })).toEqual([]);
    const actors = await gw.deps.db('audit_log').where({ action: 'wallet.create', actor_type: 'cli' }).count<{ count: number }[]>({ count: '*' });
    expect(Number(actors[0].count)).toBe(2);
  });

  it('never echoes an imported secret in a response, a log line, an audit row or the table', async () => {
    expect(responses.length).toBeGreaterThanOrEqual(5);
    const sources = {
      responses: responses.join('\n'),
      logs: gw.logs.join(''),
      audit_log: await tableText(gw.deps.db, 'audit_log'),
      wallet_entries: await tableText(gw.deps.db, 'wallet_entries'),
    };
    expect(findLeaks(secrets, sources)).toEqual([]);
  });
});
