import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { CredentialProber } from '../../src/routing/credential-probe';
import { UpstreamAgents } from '../../src/proxy/forward';
import type { Service } from '../../src/services/service';
import { MemoryKvStore } from '../../src/store/memory-kv';
import type { WalletEntry } from '../../src/wallet/repository';

const entry = (id: string) => ({ id }) as WalletEntry;

describe('CredentialProber: the service’s own check decides, at most once per entry per interval', () => {
  let server: http.Server;
  let base: string;
  const seen: { path: string; method: string; auth: string | undefined }[] = [];
  /** secret → status the check answers */
  const verdicts = new Map<string, number>();
  const agents = new UpstreamAgents();
  let kv: MemoryKvStore;
  let now: number;
  let wallet: { markInvalid: jest.Mock };
  let prober: CredentialProber;
  const service = (over: Partial<Service> = {}) =>
    ({ slug: 's', baseUrl: base, auth: { type: 'bearer' }, allowPrivate: true, timeoutMs: null, credentialCheck: { method: 'GET', path: '/v1/me', query: { probe: '1' } }, ...over }) as Service;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const auth = req.headers.authorization;
      seen.push({ path: req.url!, method: req.method!, auth });
      res.writeHead(verdicts.get(auth?.slice(7) ?? '') ?? 200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await agents.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seen.length = 0;
    verdicts.clear();
    kv = new MemoryKvStore();
    now = 1_000_000;
    wallet = { markInvalid: jest.fn(async () => true) };
    prober = new CredentialProber({ kv, clock: { now: () => now }, logger: pino({ level: 'silent' }), wallet, agents, intervalMs: 60_000 });
  });
  afterEach(() => kv.close());

  it('a 401/403 from the check marks the entry invalid; a 2xx does not; anything else is inconclusive', async () => {
    verdicts.set('bad', 401).set('banned', 403).set('flaky', 500);
    expect(await prober.probe(entry('a'), service(), 'bad')).toBe('invalid');
    expect(await prober.probe(entry('b'), service(), 'banned')).toBe('invalid');
    expect(await prober.probe(entry('c'), service(), 'good')).toBe('valid');
    expect(await prober.probe(entry('d'), service(), 'flaky')).toBe('inconclusive');
    expect(wallet.markInvalid.mock.calls).toEqual([['a', 'credential check 401'], ['b', 'credential check 403']]);
    expect(seen[0]).toEqual({ path: '/v1/me?probe=1', method: 'GET', auth: 'Bearer bad' });
  });

  it('checks one entry at most once per interval, on this node and across nodes sharing the store', async () => {
    verdicts.set('bad', 401);
    expect(await prober.probe(entry('a'), service(), 'good')).toBe('valid');
    expect(await prober.probe(entry('a'), service(), 'bad')).toBe('skipped');
    const otherNode = new CredentialProber({ kv, clock: { now: () => now }, logger: pino({ level: 'silent' }), wallet, agents, intervalMs: 60_000 });
    expect(await otherNode.probe(entry('a'), service(), 'bad')).toBe('skipped');
    expect(await prober.probe(entry('b'), service(), 'good')).toBe('valid'); // another entry has its own allowance
    expect(seen).toHaveLength(2);
    now += 120_000;
    expect(await prober.probe(entry('a'), service(), 'bad')).toBe('invalid');
    expect(wallet.markInvalid).toHaveBeenCalledTimes(1);
  });

  it('a service without a check is never probed', async () => {
    expect(await prober.probe(entry('a'), service({ credentialCheck: null }), 'bad')).toBe('skipped');
    prober.suspect(entry('a'), service({ credentialCheck: null }), 'bad');
    expect(seen).toHaveLength(0);
  });
});
