import { AppError } from '../../src/http/errors';
import { parseCidrList } from '../../src/http/ip-allow';
import type { GatewayPrincipal } from '../../src/keys/principal';
import type { VerifiedKey } from '../../src/keys/lookup';
import {
  assertModelAllowed, assertNetworkAllowed, assertScope, assertServiceAllowed, modelAllowed,
} from '../../src/keys/restrictions';

function principal(over: Partial<GatewayPrincipal> = {}): GatewayPrincipal {
  return {
    keyId: 'k1',
    userId: 'u1',
    environment: 'live',
    scopes: ['chat'],
    services: null,
    models: null,
    limits: null,
    monthlyCreditsMicros: null,
    plan: { id: 'free', rpm: 20, rph: 300, rpd: 1000, tpm: 40000, monthlyCreditsMicros: 5_000_000, services: null },
    ...over,
  };
}

function forbiddenMessage(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('forbidden');
    expect((err as AppError).status).toBe(403);
    return (err as AppError).message;
  }
  throw new Error('expected a forbidden error');
}

describe('assertScope', () => {
  it('passes a scope the key has and names the missing one otherwise', () => {
    expect(() => assertScope(principal(), 'chat')).not.toThrow();
    expect(forbiddenMessage(() => assertScope(principal(), 'proxy'))).toContain("'proxy' scope");
  });
});

describe('assertServiceAllowed', () => {
  it('allows everything when neither key nor plan restricts', () => {
    expect(() => assertServiceAllowed(principal(), 'stripe')).not.toThrow();
  });
  it('applies the key list', () => {
    const p = principal({ services: ['openai'] });
    expect(() => assertServiceAllowed(p, 'openai')).not.toThrow();
    expect(forbiddenMessage(() => assertServiceAllowed(p, 'stripe'))).toContain("'stripe'");
  });
  it('applies the plan list even when the key allows the service', () => {
    const p = principal({ services: ['stripe'], plan: { ...principal().plan, services: ['openai'] } });
    expect(forbiddenMessage(() => assertServiceAllowed(p, 'stripe'))).toContain("plan 'free'");
  });
});

describe('model allow-list', () => {
  it('matches exact ids, prefixes with *, and bare entries under any service', () => {
    expect(modelAllowed(null, 'anything')).toBe(true);
    expect(modelAllowed(['gpt-4o'], 'gpt-4o')).toBe(true);
    expect(modelAllowed(['gpt-4o'], 'gpt-4o-mini')).toBe(false);
    expect(modelAllowed(['gpt-4o*'], 'gpt-4o-mini')).toBe(true);
    expect(modelAllowed(['gpt-4o'], 'openai/gpt-4o')).toBe(true);
    expect(modelAllowed(['openai/gpt-4o'], 'gpt-4o')).toBe(false);
    expect(modelAllowed(['openai/gpt-4o'], 'openai/gpt-4o')).toBe(true);
    expect(modelAllowed(['anthropic/*'], 'anthropic/claude-sonnet-4-5')).toBe(true);
    expect(modelAllowed(['anthropic/*'], 'openai/gpt-5')).toBe(false);
    expect(modelAllowed([], 'gpt-4o')).toBe(false);
  });
  it('assertModelAllowed refuses with 403 naming the model', () => {
    expect(forbiddenMessage(() => assertModelAllowed(principal({ models: ['claude-fast'] }), 'claude-premium'))).toContain('claude-premium');
    expect(() => assertModelAllowed(principal({ models: ['claude-fast'] }), 'claude-fast')).not.toThrow();
  });
});

describe('assertNetworkAllowed', () => {
  const key = (ips: string[], referrers: string[] = [], unreadable = false): VerifiedKey => ({
    principal: principal(),
    allowedIps: parseCidrList(ips),
    ipListUnreadable: unreadable,
    allowedReferrers: referrers,
    expiresAtMs: null,
  });
  it('checks IPv4 and IPv6 ranges', () => {
    expect(() => assertNetworkAllowed(key(['10.0.0.0/8', '2001:db8::/32']), '10.9.8.7', undefined)).not.toThrow();
    expect(() => assertNetworkAllowed(key(['10.0.0.0/8', '2001:db8::/32']), '2001:db8::5', undefined)).not.toThrow();
    expect(forbiddenMessage(() => assertNetworkAllowed(key(['10.0.0.0/8']), '192.168.1.1', undefined))).toContain('192.168.1.1');
  });
  it('fails closed on an unreadable list', () => {
    forbiddenMessage(() => assertNetworkAllowed(key([], [], true), '10.0.0.1', undefined));
  });
  it('checks the referrer and needs one when a list is set', () => {
    const k = key([], ['https://app.example.com']);
    expect(() => assertNetworkAllowed(k, '1.2.3.4', 'https://app.example.com/page')).not.toThrow();
    forbiddenMessage(() => assertNetworkAllowed(k, '1.2.3.4', 'https://evil.example.net/'));
    forbiddenMessage(() => assertNetworkAllowed(k, '1.2.3.4', undefined));
  });
});
