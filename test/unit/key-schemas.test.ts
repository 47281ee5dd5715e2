import { bulkRotateSchema, createKeySchema, rotateKeySchema, updateKeySchema } from '../../src/keys/schemas';
import { decodeChange, encodeChange } from '../../src/keys/events';
import { extractGatewayKey } from '../../src/keys/verify';
import { keyStatus, presentGatewayKey, GatewayKeyRow } from '../../src/keys/presenter';

describe('gateway key input', () => {
  const base = { name: 'ci', scopes: ['chat'] };

  it('defaults the environment to live and de-duplicates scopes', () => {
    const parsed = createKeySchema.parse({ ...base, scopes: ['chat', 'chat', 'models'] });
    expect(parsed.environment).toBe('live');
    expect(parsed.scopes).toEqual(['chat', 'models']);
  });

  it('refuses empty or unknown scopes, bad CIDRs, bad referrers and unknown fields', () => {
    expect(createKeySchema.safeParse({ ...base, scopes: [] }).success).toBe(false);
    expect(createKeySchema.safeParse({ ...base, scopes: ['admin'] }).success).toBe(false);
    expect(createKeySchema.safeParse({ ...base, allowedIps: ['10.0.0.0/33'] }).success).toBe(false);
    expect(createKeySchema.safeParse({ ...base, allowedIps: ['not-an-ip'] }).success).toBe(false);
    expect(createKeySchema.safeParse({ ...base, allowedIps: ['10.0.0.0/8', '2001:db8::/32'] }).success).toBe(true);
    expect(createKeySchema.safeParse({ ...base, allowedReferrers: ['javascript:alert(1)'] }).success).toBe(false);
    expect(createKeySchema.safeParse({ ...base, allowedReferrers: ['*.example.com'] }).success).toBe(true);
    expect(createKeySchema.safeParse({ ...base, environment: 'prod' }).success).toBe(false);
    expect(createKeySchema.safeParse({ ...base, keyHash: 'x' }).success).toBe(false);
  });

  it('stores credits as integer micro-USD and limits as positive integers', () => {
    expect(createKeySchema.parse({ ...base, monthlyCredits: 12.5 }).monthlyCredits).toBe(12_500_000);
    expect(createKeySchema.safeParse({ ...base, limits: { rpm: 0 } }).success).toBe(false);
    expect(createKeySchema.safeParse({ ...base, limits: { rpm: 1.5 } }).success).toBe(false);
    expect(createKeySchema.safeParse({ ...base, limits: { rps: 1 } }).success).toBe(false);
    expect(createKeySchema.parse({ ...base, limits: { rpm: 10, tpm: null } }).limits).toEqual({ rpm: 10, tpm: null });
  });

  it('parses expiresAt as a date', () => {
    expect(createKeySchema.parse({ ...base, expiresAt: '2030-01-01T00:00:00Z' }).expiresAt).toEqual(new Date('2030-01-01T00:00:00Z'));
    expect(createKeySchema.safeParse({ ...base, expiresAt: 'tomorrow' }).success).toBe(false);
  });

  it('needs something to change in a patch', () => {
    expect(updateKeySchema.safeParse({}).success).toBe(false);
    expect(updateKeySchema.safeParse({ environment: 'test' }).success).toBe(false);
    expect(updateKeySchema.parse({ services: null })).toEqual({ services: null });
  });

  it('bounds the grace period to seven days and bulk rotation to ids xor user', () => {
    expect(rotateKeySchema.parse({}).gracePeriodSeconds).toBe(0);
    expect(rotateKeySchema.safeParse({ gracePeriodSeconds: 7 * 86400 }).success).toBe(true);
    expect(rotateKeySchema.safeParse({ gracePeriodSeconds: 7 * 86400 + 1 }).success).toBe(false);
    expect(rotateKeySchema.safeParse({ gracePeriodSeconds: -1 }).success).toBe(false);
    const id = '3f0c7a57-3f7e-4d43-9d4c-0e3c2b7a1f10';
    expect(bulkRotateSchema.safeParse({ ids: [id] }).success).toBe(true);
    expect(bulkRotateSchema.safeParse({ userId: id }).success).toBe(true);
    expect(bulkRotateSchema.safeParse({ ids: [id], userId: id }).success).toBe(false);
    expect(bulkRotateSchema.safeParse({}).success).toBe(false);
  });
});

describe('invalidation messages', () => {
  it('round-trips ids and turns anything malformed into "drop everything"', () => {
    expect(decodeChange(encodeChange(['a', 'b']))).toEqual({ ids: ['a', 'b'] });
    expect(decodeChange('not json')).toBeNull();
    expect(decodeChange('{"ids":[1]}')).toBeNull();
  });
});

describe('extractGatewayKey', () => {
  const ctx = (headers: Record<string, string>) => ({ get: (name: string) => headers[name.toLowerCase()] ?? '' });
  it('reads Authorization: Bearer, then x-api-key, then api-key', () => {
    expect(extractGatewayKey(ctx({ authorization: 'Bearer kw_a', 'x-api-key': 'kw_b' }))).toBe('kw_a');
    expect(extractGatewayKey(ctx({ authorization: 'bearer   kw_a ' }))).toBe('kw_a');
    expect(extractGatewayKey(ctx({ 'x-api-key': 'kw_b', 'api-key': 'kw_c' }))).toBe('kw_b');
    expect(extractGatewayKey(ctx({ 'api-key': ' kw_c ' }))).toBe('kw_c');
    expect(extractGatewayKey(ctx({ authorization: 'Basic abc' }))).toBeNull();
    expect(extractGatewayKey(ctx({}))).toBeNull();
  });
});

describe('gateway key presenter', () => {
  const row: GatewayKeyRow = {
    id: 'k', user_id: 'u', name: 'n', environment: 'live', key_hash: 'f'.repeat(64), key_hint: 'kw_live_…AbCd',
    scopes: ['chat'], services: null, models: null, allowed_ips: null, allowed_referrers: null, expires_at: null,
    limits: { rpm: 5 }, monthly_credits_micros: 2_500_000, status: 'active', revoked_at: null, revoked_reason: null,
    rotated_from: null, replaced_by: null, last_used_at: null, created_at: new Date(0), updated_at: new Date(0),
  };
  it('never shows the hash, shows the mask and credits in USD', () => {
    const shown = presentGatewayKey(row, 1000);
    expect(JSON.stringify(shown)).not.toContain(row.key_hash);
    expect(shown.maskedKey).toBe('kw_live_…AbCd');
    expect(shown.monthlyCredits).toBe(2.5);
  });
  it('derives active / expired / revoked', () => {
    expect(keyStatus(row, 1000)).toBe('active');
    expect(keyStatus({ ...row, expires_at: new Date(500) }, 1000)).toBe('expired');
    expect(keyStatus({ ...row, status: 'revoked' }, 1000)).toBe('revoked');
  });
});
