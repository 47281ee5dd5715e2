import { parseThresholds, percentOf, quotaPeriodLabel, thresholdsReached } from '../../src/alerts/thresholds';
import { reportQuotaUse, type WalletEvent } from '../../src/alerts/wallet-events';
import { retryDelayMs } from '../../src/webhooks/deliverer';
import { generateSigningSecret, signatureHeader, verifySignature } from '../../src/webhooks/signing';
import { createWebhookSchema } from '../../src/webhooks/schemas';

describe('budget thresholds', () => {
  it('reaches a threshold at exactly its share of the budget, in integer arithmetic', () => {
    expect(thresholdsReached({ spentMicros: 7_999_999, budgetMicros: 10_000_000 }, [50, 80, 100])).toEqual([50]);
    expect(thresholdsReached({ spentMicros: 8_000_000, budgetMicros: 10_000_000 }, [50, 80, 100])).toEqual([50, 80]);
    expect(thresholdsReached({ spentMicros: 10_000_000, budgetMicros: 10_000_000 }, [50, 80, 100])).toEqual([50, 80, 100]);
    expect(thresholdsReached({ spentMicros: 1, budgetMicros: 0 }, [50])).toEqual([]);
    expect(thresholdsReached({ spentMicros: 0, budgetMicros: 10 }, [50])).toEqual([]);
    expect(percentOf(8_123_456, 10_000_000)).toBe(81.2);
  });

  it('parses ALERT_THRESHOLDS and refuses nonsense', () => {
    expect(parseThresholds('100, 50,80,50')).toEqual([50, 80, 100]);
    for (const bad of ['', 'x', '0', '50,abc', '1001', '-5', '5.5']) expect(() => parseThresholds(bad)).toThrow();
  });

  it('labels quota periods readably', () => {
    const t = Date.UTC(2026, 11, 7, 10, 0, 0);
    expect(quotaPeriodLabel('month', Date.UTC(2026, 11, 1))).toBe('2026-12');
    expect(quotaPeriodLabel('day', Date.UTC(2026, 11, 7))).toBe('2026-12-07');
    expect(quotaPeriodLabel('hour', t)).toBe('2026-12-07T10');
  });
});

describe('wallet quota events', () => {
  const events: WalletEvent[] = [];
  const observer = { walletEvent: (e: WalletEvent) => events.push(e) };
  const entry = (tier: 'free' | 'paid', period: 'minute' | 'day' = 'day') => ({ id: 'e1', service: 'openai', tier, quota: { limit: 100, unit: 'requests' as const, period } });
  beforeEach(() => events.splice(0));

  it('reports 90 % used, and a free tier used up or refusing a call', () => {
    reportQuotaUse(observer, entry('paid'), 89, true, Date.UTC(2026, 11, 7, 12));
    expect(events).toEqual([]);
    reportQuotaUse(observer, entry('paid'), 90, true, Date.UTC(2026, 11, 7, 12));
    expect(events.map((e) => [e.kind, e.period, e.threshold])).toEqual([['wallet.quota_threshold', '2026-12-07', 90]]);
    events.splice(0);
    reportQuotaUse(observer, entry('paid'), 100, false, Date.now());
    expect(events.map((e) => e.kind)).toEqual(['wallet.quota_threshold']);
    events.splice(0);
    reportQuotaUse(observer, entry('free'), 40, false, Date.now());
    expect(events.map((e) => e.kind)).toEqual(['wallet.free_tier_exhausted']);
    events.splice(0);
    reportQuotaUse(observer, entry('free'), 100, true, Date.now());
    expect(events.map((e) => e.kind).sort()).toEqual(['wallet.free_tier_exhausted', 'wallet.quota_threshold']);
  });

  it('leaves per-minute quotas and entries without a quota out', () => {
    reportQuotaUse(observer, entry('free', 'minute'), 100, false, Date.now());
    reportQuotaUse(observer, { id: 'e2', service: 'openai', tier: 'free', quota: null }, 100, false, Date.now());
    expect(events).toEqual([]);
  });
});

describe('webhook signatures', () => {
  it('verifies t.body with the secret, refuses a tampered body, another secret and an old timestamp', () => {
    const secret = generateSigningSecret();
    const body = '{"id":"evt","type":"webhook.test"}';
    const header = signatureHeader(secret, 1_800_000_000, body);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, header, body, 1_800_000_010)).toBe(true);
    expect(verifySignature(secret, header, `${body} `, 1_800_000_010)).toBe(false);
    expect(verifySignature(generateSigningSecret(), header, body, 1_800_000_010)).toBe(false);
    expect(verifySignature(secret, header, body, 1_800_001_000)).toBe(false);
    expect(verifySignature(secret, 'garbage', body, 1_800_000_010)).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    const opts = { retryBaseMs: 1000, retryMaxMs: 10_000 };
    expect(retryDelayMs(1, opts, () => 0.5)).toBe(1000);
    expect(retryDelayMs(3, opts, () => 0.5)).toBe(4000);
    expect(retryDelayMs(20, opts, () => 0.5)).toBe(10_000);
    expect(retryDelayMs(1, opts, () => 0)).toBe(800);
    expect(retryDelayMs(1, opts, () => 1)).toBe(1200);
  });

  it('accepts only http(s) URLs without credentials, fragments or control characters', () => {
    const ok = (url: string) => createWebhookSchema.safeParse({ url }).success;
    expect(ok('https://hooks.example.com/x?y=1')).toBe(true);
    for (const bad of ['ftp://example.com/', 'file:///etc/passwd', 'https://a:b@example.com/', 'https://example.com/#x', 'https://example.com/\n', `https://example.com/${'a'.repeat(2100)}`]) {
      expect(ok(bad)).toBe(false);
    }
  });
});
