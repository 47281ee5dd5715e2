import { baseUrlProblem, createServiceSchema, presentService, rowToService, updateServiceSchema } from '../../src/services/service';

describe('service input validation', () => {
  it('fills defaults and normalises the base URL', () => {
    const parsed = createServiceSchema.parse({ slug: 'acme', baseUrl: 'HTTPS://API.Acme.com/v1//', auth: { type: 'bearer' } });
    expect(parsed).toEqual({
      slug: 'acme', baseUrl: 'https://api.acme.com/v1', auth: { type: 'bearer' }, kind: 'rest', costPerCall: 0, allowPrivate: false, credentialCheck: null, enabled: true, metadata: {},
    });
  });

  it('takes a credential check under the base URL, and refuses one that escapes it or carries a query string', () => {
    const base = { slug: 'acme', baseUrl: 'https://api.acme.com', auth: { type: 'bearer' } };
    expect(createServiceSchema.parse({ ...base, credentialCheck: { path: 'v1/me' } }).credentialCheck).toEqual({ method: 'GET', path: '/v1/me' });
    expect(createServiceSchema.parse({ ...base, credentialCheck: { method: 'HEAD', path: '/v1/me', query: { a: '1' } } }).credentialCheck).toEqual({
      method: 'HEAD', path: '/v1/me', query: { a: '1' },
    });
    for (const path of ['https://evil.example/x', '/../admin', '/v1/me?x=1', '//evil.example/x', '/a\\b', '']) {
      expect(createServiceSchema.safeParse({ ...base, credentialCheck: { path } }).success).toBe(false);
    }
    expect(createServiceSchema.safeParse({ ...base, credentialCheck: { path: '/x', method: 'DELETE' } }).success).toBe(false);
    expect(createServiceSchema.safeParse({ ...base, credentialCheck: { path: '/x', extra: 1 } }).success).toBe(false);
  });

  it.each([
    ['not a url', 'must be an absolute http(s) URL'],
    ['file:///etc/passwd', 'must use http or https'],
    ['https://u:p@example.com', 'must not contain credentials'],
    ['https://example.com/?', 'must not contain a query string'],
    ['https://example.com/#', 'must not contain a fragment'],
  ])('rejects base URL %p', (url, problem) => {
    expect(baseUrlProblem(url)).toBe(problem);
  });

  it('needs auth.name for header and query, and refuses reserved header names', () => {
    const base = { slug: 'acme', baseUrl: 'https://api.acme.com' };
    expect(createServiceSchema.safeParse({ ...base, auth: { type: 'query' } }).success).toBe(false);
    expect(createServiceSchema.safeParse({ ...base, auth: { type: 'query', name: 'api_key' } }).success).toBe(true);
    expect(createServiceSchema.safeParse({ ...base, auth: { type: 'header', name: 'Content-Length' } }).success).toBe(false);
    expect(createServiceSchema.safeParse({ ...base, auth: { type: 'header', name: 'X-Api-Key' } }).success).toBe(true);
    expect(createServiceSchema.safeParse({ ...base, auth: { type: 'basic' } }).success).toBe(true);
  });

  it('refuses an empty or unknown patch', () => {
    expect(updateServiceSchema.safeParse({}).success).toBe(false);
    expect(updateServiceSchema.safeParse({ slug: 'x' }).success).toBe(false);
    expect(updateServiceSchema.safeParse({ keyPattern: null }).success).toBe(true);
  });

  it('presents money as credits and only the listed fields', () => {
    const service = rowToService({
      slug: 'acme', name: 'Acme', kind: 'rest', base_url: 'https://api.acme.com', auth: '{"type":"query","name":"k"}', key_pattern: null,
      cost_per_call_micros: 2500, timeout_ms: null, allow_private: false, builtin: false, enabled: true, metadata: null,
      created_at: new Date(0), updated_at: new Date(0), ...({ internal_secret: 'x' } as object),
    });
    const presented = presentService(service);
    expect(presented.costPerCall).toBe(0.0025);
    expect(presented.auth).toEqual({ type: 'query', name: 'k' });
    expect(JSON.stringify(presented)).not.toContain('internal_secret');
  });
});
