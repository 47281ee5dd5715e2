import knex, { Knex } from 'knex';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { createService, addEntry, developerKey, uniqueSlug } from '../helpers/routing';
import { createUserWithKey } from '../helpers/keys';
import { movableClock } from '../helpers/limits';
import { freePort } from '../helpers/own-servers';
import { startRestMock, MockUpstream } from '../mocks';
import { publishKeysChanged } from '../../src/keys/events';
import type { Db } from '../../src/store/db';

/**
 * Stale-while-error on the request path (issue 16 follow-up): while the database is unreachable the caches of
 * gateway keys, wallet entries and plans keep serving their last good copy past their TTL, up to 5 minutes, a
 * revocation heard over pub/sub still applies, and what is not cached answers 503 service_unavailable, never 500.
 * "Unreachable" is real: every database read goes to a PostgreSQL address nothing listens on.
 */
describe('the request path while the database is unreachable', () => {
  let gw: TestGateway;
  let mock: MockUpstream;
  let liveDb: Db;
  let deadDb: Knex;
  const clock = movableClock('2026-03-10T12:00:00Z');
  let slug: string;

  beforeAll(async () => {
    mock = await startRestMock();
    gw = await startTestGateway({ clock });
    liveDb = gw.deps.db;
    deadDb = knex({
      client: 'pg',
      connection: { connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/none`, connectionTimeoutMillis: 1000 },
      acquireConnectionTimeout: 2000,
      pool: { min: 0, max: 2 },
      log: { warn() {}, error() {}, debug() {}, deprecate() {} }, // its refused connections are the point
    });
    const admin = (await gw.user('admin')).token;
    slug = uniqueSlug('outage');
    await createService(gw, admin, { slug, baseUrl: mock.url });
    await addEntry(gw, admin, { service: slug });
  });
  afterEach(() => {
    gw.deps.db = liveDb;
  });
  afterAll(async () => {
    gw.deps.db = liveDb;
    await deadDb.destroy();
    await gw.close();
    await mock.close();
  });

  const call = (key: string) => gw.request(`/proxy/${slug}/ping`, { headers: { authorization: `Bearer ${key}` } });

  it('keeps a warmed key, its wallet entries and plan serving past their TTLs, and refuses an unseen key with 503', async () => {
    const warm = await developerKey(gw, { scopes: ['proxy'] });
    const unseen = await developerKey(gw, { scopes: ['proxy'] });
    expect((await call(warm)).status).toBe(200);

    gw.deps.db = deadDb as unknown as Db;
    clock.advance(2 * 60_000); // past the key (60 s), wallet (30 s) and plan (30 s) TTLs, within the 5-minute bound
    const lookupsBefore = gw.deps.keys.lookups();
    const served = await Promise.all(Array.from({ length: 5 }, () => call(warm)));
    expect(served.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(gw.deps.keys.lookups()).toBeGreaterThan(lookupsBefore); // it did try the database first

    const refused = await call(unseen);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'service_unavailable', type: 'service_unavailable' });
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(gw.logs.join('')).not.toContain('unhandled error');

    // past the bound, the warmed key is refused too: staleness is bounded
    clock.advance(4 * 60_000);
    expect((await call(warm)).status).toBe(503);

    gw.deps.db = liveDb;
    expect((await call(warm)).status).toBe(200);
    expect((await call(unseen)).status).toBe(200);
  });

  it('applies a revocation heard over pub/sub even while the database is unreachable', async () => {
    const { key, id } = await createUserWithKey(gw, 'developer', { scopes: ['proxy'] }, 'enterprise');
    expect((await call(key)).status).toBe(200);
    gw.deps.db = deadDb as unknown as Db;
    await publishKeysChanged(gw.deps.kv, [id]);
    let status = 200;
    for (let i = 0; i < 50 && status === 200; i++) {
      if (i) await new Promise((r) => setTimeout(r, 20));
      status = (await call(key)).status;
    }
    // dropped from the cache and not readable: no longer served (503, as for any key the node cannot verify)
    expect(status).toBe(503);
  });
});
