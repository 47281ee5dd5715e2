import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { spawnGateway, GatewayProcess } from '../helpers/process';
import { freePort, ownPostgres, ownRedis, OwnPostgres, OwnRedis } from '../helpers/own-servers';
import { faultEnv, setUpTenant, waitForLedger } from '../helpers/fault-load';
import { startRestMock, MockUpstream } from '../mocks';

jest.setTimeout(120_000);

const WARMED_REQUESTS = 40;
const UNSEEN_REQUESTS = 20;

interface Answer {
  id: string;
  status: number;
  code?: string;
  retryAfter: string | null;
}

async function call(url: string, key: string, id: string): Promise<Answer> {
  const res = await fetch(`${url}/proxy/echo/ping`, { headers: { authorization: `Bearer ${key}`, 'x-request-id': id } });
  const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
  return { id, status: res.status, code: body?.error?.code, retryAfter: res.headers.get('retry-after') };
}

/** a few at a time, as clients would send them */
async function burst(url: string, key: string, prefix: string, n: number): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < n; i += 10) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => call(url, key, `${prefix}-${i + j}`)))));
  }
  return out;
}

const count = (answers: Answer[]) => {
  const by: Record<string, number> = {};
  for (const a of answers) by[a.status] = (by[a.status] ?? 0) + 1;
  return by;
};

/**
 * Issue 16 follow-up: during a PostgreSQL outage the /proxy path answered 500 ("unhandled error — connect
 * ECONNREFUSED") on most requests. A key verified before the outage, with its wallet entry and plan cached, keeps
 * working; what needs the database (a key this node never saw) gets a quick 503 service_unavailable with
 * Retry-After; never a 500. The usage events of the outage wait in Redis and reach PostgreSQL once it is back.
 */
describe('the request path across a PostgreSQL outage (fault)', () => {
  let pg: OwnPostgres;
  let redis: OwnRedis;
  let mock: MockUpstream;
  let gw: GatewayProcess | null = null;
  let dataDir: string;

  beforeAll(async () => {
    pg = ownPostgres(await freePort());
    redis = await ownRedis(await freePort());
    mock = await startRestMock();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-fault-data-'));
  });
  afterAll(async () => {
    await gw?.stop();
    await mock?.close();
    await redis?.destroy();
    pg?.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves warmed keys from cache, answers 503 (never 500) for what needs the database, and recovers', async () => {
    gw = await spawnGateway(faultEnv({ DATABASE_URL: pg.url, REDIS_URL: redis.url, DATA_DIR: dataDir }));
    const url = gw.url;
    // `creditKey` is created but never used before the outage: this node has never verified it
    const { key: warmKey, creditKey: unseenKey } = await setUpTenant(url, mock.url);
    const warm = await burst(url, warmKey, 'warm', 3);
    expect(count(warm)).toEqual({ 200: 3 });

    pg.stop();
    const redisClient = new Redis(redis.url);
    try {
      const warmed = await burst(url, warmKey, 'down-warm', WARMED_REQUESTS);
      const unseen = await burst(url, unseenKey, 'down-unseen', UNSEEN_REQUESTS);
      const streamed = await redisClient.xlen('kw:usage:events');
      const failures = gw.output().split('\n').filter((l) => l.includes('"level":50'));
      expect(failures).toEqual([]);
      expect(count(warmed)).toEqual({ 200: WARMED_REQUESTS });
      expect(count(unseen)).toEqual({ 503: UNSEEN_REQUESTS });
      expect(new Set(unseen.map((a) => `${a.code} ${a.retryAfter}`))).toEqual(new Set(['service_unavailable 5']));
      // the outage's usage events wait in the stream while PostgreSQL is down
      expect(streamed).toBeGreaterThanOrEqual(WARMED_REQUESTS);

      pg.start();
      // (a request whose key could not be verified has no key or user to record an event against)
      const answered = [...warm, ...warmed].map((a) => a.id);
      const { audit } = await waitForLedger(pg.url, answered, 30_000);
      expect(audit.missing).toEqual([]);
      expect(audit.duplicated).toBe(0);

      // the key the outage refused works now that the database is back
      let after: Answer | null = null;
      for (let i = 0; i < 20 && after?.status !== 200; i++) {
        if (i) await new Promise((r) => setTimeout(r, 250));
        after = await call(url, unseenKey, `after-${i}`);
      }
      expect(after?.status).toBe(200);
      expect((await call(url, warmKey, 'after-warm')).status).toBe(200);
    } finally {
      redisClient.disconnect();
    }
  });
});
