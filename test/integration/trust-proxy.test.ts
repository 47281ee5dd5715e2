import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { createUserWithKey, keyHeaders } from '../helpers/keys';

/**
 * Issue 14.5: TRUST_PROXY trusted the leftmost X-Forwarded-For entry, which is whatever the client wrote. A
 * spoofed entry got past a gateway key's IP allow-list and the per-IP login limit. The client is now the address
 * the outermost trusted proxy saw, read from the right; one resolver serves allow-lists, login limits and audit.
 */
describe(`14.5 trust proxy hops from the right (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TRUST_PROXY: 'true' } });
  });
  afterAll(() => gw.close());

  // what one trusted proxy sends: whatever the client claimed, then the address it saw
  const viaProxy = (claimed: string | null, seen: string) => ({ 'x-forwarded-for': claimed ? `${claimed}, ${seen}` : seen });

  it('a spoofed leftmost X-Forwarded-For entry does not pass a gateway key IP allow-list', async () => {
    const { key } = await createUserWithKey(gw, 'developer', { allowedIps: ['203.0.113.7/32'] });
    const spoofed = await gw.request('/v1/models', { headers: { ...keyHeaders.bearer(key), ...viaProxy('203.0.113.7', '198.51.100.9') } });
    expect(spoofed.status).toBe(403);
    const genuine = await gw.request('/v1/models', { headers: { ...keyHeaders.bearer(key), ...viaProxy(null, '203.0.113.7') } });
    expect(genuine.status).toBe(200);
    const spoofedBehind = await gw.request('/v1/models', { headers: { ...keyHeaders.bearer(key), ...viaProxy('198.51.100.9', '203.0.113.7') } });
    expect(spoofedBehind.status).toBe(200);
  });

  it('spoofed entries do not spread login failures over many addresses: the per-IP limit holds', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 55 }, (_, i) =>
        gw.request('/auth/login', { body: { email: `spoof-${i}@example.test`, password: 'guess' }, headers: viaProxy(`192.0.2.${i}`, '198.51.100.77') }),
      ),
    );
    const statuses = attempts.map((r) => r.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect(statuses.filter((s) => s === 401)).toHaveLength(50);
  });

  it('audit rows record the address the proxy saw, not the claimed one', async () => {
    const admin = await gw.user('admin');
    const { user } = await gw.user('developer');
    const res = await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { plan: 'pro' }, headers: viaProxy('203.0.113.7', '198.51.100.42') });
    expect(res.status).toBe(200);
    const row = await gw.deps.db('audit_log').where({ action: 'user.update', target_id: user.id }).orderBy('id', 'desc').first();
    expect(row.ip).toBe('198.51.100.42');
    expect(gw.logs.join('')).toMatch(/"method":"PATCH","path":"\/users\/[^"]+","status":200,"ip":"198\.51\.100\.42"/);
  });
});

describe(`14.5 trust proxy by CIDR (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // the test client connects from 127.0.0.1: it plays the load balancer, 10.0.0.0/8 the inner proxies
    gw = await startTestGateway({ env: { TRUST_PROXY: '127.0.0.1/32, 10.0.0.0/8' } });
  });
  afterAll(() => gw.close());

  it('skips every trusted proxy from the right and stops at the first other address', async () => {
    const { key } = await createUserWithKey(gw, 'developer', { allowedIps: ['203.0.113.7/32'] });
    const through = (xff: string) => gw.request('/v1/models', { headers: { ...keyHeaders.bearer(key), 'x-forwarded-for': xff } });
    expect((await through('203.0.113.7, 10.1.2.3')).status).toBe(200);
    expect((await through('203.0.113.7, 10.9.9.9, 10.1.2.3')).status).toBe(200);
    expect((await through('203.0.113.7, 198.51.100.9, 10.1.2.3')).status).toBe(403);
    expect((await through('203.0.113.7, 198.51.100.9')).status).toBe(403);
  });
});
