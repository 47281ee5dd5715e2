import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { addEntry, createService, developerKey, rawRequest, uniqueSlug } from '../helpers/routing';
import { startOpenAIMock, startRestMock, MockUpstream } from '../mocks';

/** Endpoints that try to leave the service's base URL. Each must be refused with 400 before anything is sent. */
const ENVELOPE_PROBES = [
  'http://169.254.169.254/latest/meta-data/',
  'https://evil.example.com/steal',
  'HTTP://EVIL.EXAMPLE.COM/',
  'http:evil.example.com/x',
  'file:///etc/passwd',
  'gopher://127.0.0.1:6379/_FLUSHALL',
  'javascript:alert(1)',
  '//evil.example.com/x',
  '/../../../etc/passwd',
  '../admin',
  '/v1/%2e%2e/%2e%2e/admin',
  '/v1/%2E%2E%2F%2E%2E%2Fadmin',
  '/v1/%252e%252e/admin',
  '/v1/..%2fadmin',
  '/v1/..;/admin',
  '@evil.example.com/x',
  '/x@evil.example.com',
  '\\\\evil.example.com\\share',
  '/v1/%5c%5cevil.example.com',
  '/v1/x%00.json',
  '/v1/x\r\nHost: evil.example.com',
  '/v1/x%0d%0aX-Injected:%20yes',
  '/v1/x?redirect=http://evil.example.com',
  '/v1/x#fragment',
  '/%c0%ae%c0%ae/admin',
  ' /v1/x',
  '/v1/%zz',
];

const RAW_PROBES = [
  '/../../admin',
  '/%2e%2e/%2e%2e/admin',
  '/..%2f..%2fadmin',
  '/%252e%252e/admin',
  '/..;/admin',
  '//evil.example.com/x',
  '/%2F%2Fevil.example.com/x',
  '/x@evil.example.com',
  '/%5c%5cevil.example.com',
  '/\\evil.example.com',
  '/x%00y',
  '/x%0d%0aX-Injected:%20yes',
  '/%c0%ae%c0%ae/admin',
  '/a/./b',
  '/v1/%2e/x',
];

describe(`proxy SSRF defences (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let rest: MockUpstream;
  let bystander: MockUpstream;
  let admin: string;
  let key: string;
  let slug: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    rest = await startRestMock();
    bystander = await startOpenAIMock();
    admin = (await gw.user('admin')).token;
    key = await developerKey(gw);
    slug = uniqueSlug('ssrf');
    await createService(gw, admin, { slug, baseUrl: `${rest.url}/api` });
    await addEntry(gw, admin, { service: slug });
  }, 60_000);
  afterAll(async () => {
    await gw.close();
    await rest.close();
    await bystander.close();
  });

  it(`refuses ${ENVELOPE_PROBES.length} endpoint probes via POST /proxy with 400, sending nothing`, async () => {
    const statuses: Record<string, number> = {};
    for (const endpoint of ENVELOPE_PROBES) {
      const res = await gw.request('/proxy', { method: 'POST', body: { service: slug, endpoint, method: 'GET' }, headers: { authorization: `Bearer ${key}` } });
      statuses[endpoint] = res.status;
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error' });
    }
    expect(Object.entries(statuses).filter(([, status]) => status !== 400)).toEqual([]);
    expect(rest.requests).toEqual([]);
    expect(bystander.requests).toEqual([]);
  });

  it(`refuses ${RAW_PROBES.length} raw-path probes with 400, sending nothing`, async () => {
    const statuses: Record<string, number> = {};
    for (const probe of RAW_PROBES) {
      const res = await rawRequest(gw.url, `/proxy/${slug}${probe}`, { headers: { authorization: `Bearer ${key}` } });
      statuses[probe] = res.status;
    }
    expect(Object.entries(statuses).filter(([, status]) => status !== 400)).toEqual([]);
    expect(rest.requests).toEqual([]);
    expect(bystander.requests).toEqual([]);
  });

  it('a safe endpoint on the same service does go through (the probes failed for their shape, not the set-up)', async () => {
    const res = await gw.request('/proxy', { method: 'POST', body: { service: slug, endpoint: '/v1/ok' }, headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(rest.requests.map((r) => r.path)).toEqual(['/api/v1/ok']);
    rest.reset();
  });

  it('a service on a private address is refused unless an admin allows it explicitly', async () => {
    const refused = await gw.request('/services', {
      method: 'POST',
      token: admin,
      body: { slug: uniqueSlug('priv'), kind: 'rest', baseUrl: 'http://169.254.169.254', auth: { type: 'bearer' } },
    });
    expect(refused.status).toBe(400);
  });

  it.each([
    ['an IP literal', (port: string) => `http://127.0.0.1:${port}`],
    ['a name that resolves to loopback (DNS rebinding)', (port: string) => `http://localhost:${port}`],
  ])('at connect time, a private upstream of a public-only service is refused: %s', async (_what, baseUrl) => {
    // Simulates a base URL whose DNS changed after it was checked: the row says public-only, the address is private.
    const s = uniqueSlug('rebind');
    await createService(gw, admin, { slug: s, baseUrl: rest.url });
    await addEntry(gw, admin, { service: s });
    await gw.deps.db('services').where({ slug: s }).update({ allow_private: false, base_url: baseUrl(new URL(rest.url).port) });
    await gw.deps.services.reload();
    const res = await gw.request(`/proxy/${s}/x`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(502);
    expect(res.body.error.message).toContain('private or reserved address');
    expect(rest.requests).toEqual([]);
  });
});
