import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { eventually } from '../helpers/keys';
import { addEntry, createService, developerKey, uniqueSlug } from '../helpers/routing';
import { quotaCounter } from '../../src/routing/quota';
import { startRestMock, MockUpstream } from '../mocks';

/** Two gateway processes' worth of app on one PostgreSQL and one Redis (runs with TEST_BACKEND=postgres only). */
describe(`routing across two gateway nodes (${TEST_BACKEND})`, () => {
  let a: TestGateway;
  let b: TestGateway;
  let mock: MockUpstream;
  let admin: string;
  let key: string;

  beforeAll(async () => {
    a = await startTestGateway();
    b = await startTestGateway({ backend: a.backend });
    mock = await startRestMock();
    admin = (await a.user('admin')).token;
    key = await developerKey(a);
  }, 60_000);
  afterAll(async () => {
    await b.close();
    await a.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  /** Waits until node b knows the service and its entries (pub/sub from node a). */
  async function visibleOnB(slug: string): Promise<void> {
    await eventually(async () => {
      const res = await b.request(`/routing/explain?service=${slug}`, { token: admin });
      expect(res.status).toBe(200);
      expect(res.body.candidates.length).toBeGreaterThan(0);
    }, 3000);
  }

  it('200 concurrent requests on two nodes against a quota of 50 consume exactly 50', async () => {
    const slug = uniqueSlug('multi');
    await createService(a, admin, { slug, baseUrl: mock.url });
    const entry = await addEntry(a, admin, { service: slug, tier: 'free', quota: { limit: 50, unit: 'requests', period: 'day' } });
    await visibleOnB(slug);

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? b : a).request(`/proxy/${slug}/v1/n/${i}`, { headers: { authorization: `Bearer ${key}` } }),
      ),
    );
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 200: 50, 503: 150 });
    expect(results.filter((r) => r.status === 200).every((r) => r.headers.get('x-keywallet-provider-key') === entry.id)).toBe(true);
    expect(results.filter((r) => r.status === 503).every((r) => r.body.error.code === 'no_provider_key')).toBe(true);
    expect(mock.requests).toHaveLength(50);

    const now = Date.now();
    const [used] = await a.deps.kv.peek([quotaCounter(entry.id, { limit: 50, unit: 'requests', period: 'day' }, now, 0)], now);
    expect(used).toBe(50);
    const shown = await b.request(`/wallet/keys/${entry.id}`, { token: admin });
    expect(shown.body.quota).toMatchObject({ limit: 50, used: 50 });
  });

  it('past the quota the rest go to the next entry', async () => {
    const slug = uniqueSlug('spill');
    await createService(a, admin, { slug, baseUrl: mock.url });
    const free = await addEntry(a, admin, { service: slug, tier: 'free', quota: { limit: 20, unit: 'requests', period: 'day' } });
    const paid = await addEntry(a, admin, { service: slug, tier: 'paid' });
    await visibleOnB(slug);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? b : a).request(`/proxy/${slug}/x`, { headers: { authorization: `Bearer ${key}` } })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const servedBy = (id: string) => results.filter((r) => r.headers.get('x-keywallet-provider-key') === id).length;
    expect(servedBy(free.id)).toBe(20);
    expect(servedBy(paid.id)).toBe(40);
  });

  it('a cooldown taken on one node is honoured by the other at once', async () => {
    const slug = uniqueSlug('cool');
    await createService(a, admin, { slug, baseUrl: mock.url });
    const first = await addEntry(a, admin, { service: slug, priority: 1 });
    const second = await addEntry(a, admin, { service: slug, priority: 2 });
    await visibleOnB(slug);
    // b reads the (empty) shared state for these entries before the cooldown exists
    expect((await b.request(`/proxy/${slug}/warm`, { headers: { authorization: `Bearer ${key}` } })).headers.get('x-keywallet-provider-key')).toBe(first.id);

    mock.fail({ kind: 'status', status: 429, retryAfter: 30 }, { credential: first.secret, times: 1 });
    const onA = await a.request(`/proxy/${slug}/x`, { headers: { authorization: `Bearer ${key}` } });
    expect(onA.headers.get('x-keywallet-provider-key')).toBe(second.id);

    mock.reset();
    await eventually(async () => {
      const onB = await b.request(`/proxy/${slug}/y`, { headers: { authorization: `Bearer ${key}` } });
      expect(onB.headers.get('x-keywallet-provider-key')).toBe(second.id);
    }, 1000);
    expect(mock.requests.map((r) => r.credential)).not.toContain(first.secret);
  });
});
