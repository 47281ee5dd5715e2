import { presentEntry, quotaFromApi, quotaToApi } from '../../src/wallet/presenter';
import { rowToEntry, WalletEntryRow } from '../../src/wallet/repository';

const row = (over: Partial<WalletEntryRow> = {}): WalletEntryRow & Record<string, unknown> => ({
  id: '7f1c2d4e-0000-4000-8000-000000000001',
  service: 'openai',
  label: 'main',
  tier: 'free',
  priority: 10,
  weight: 2,
  environment: 'live',
  status: 'active',
  status_reason: null,
  team_id: null,
  ciphertext: Buffer.from('CIPHERTEXT-BYTES'),
  nonce: Buffer.alloc(24, 1),
  key_version: 3,
  fingerprint: 'f'.repeat(64),
  secret_hint: '…wxyz',
  quota: JSON.stringify({ limit: 1_500_000, unit: 'credits', period: 'day' }),
  metadata: { team: 'a' },
  created_by: null,
  last_used_at: null,
  invalid_at: null,
  created_at: new Date('2030-01-01T00:00:00Z'),
  updated_at: new Date('2030-01-02T00:00:00Z'),
  ...over,
});

describe('wallet entry mapping and presenter', () => {
  it('keeps the sealed secret off every enumerable path of an entry', () => {
    const entry = rowToEntry(row());
    expect(entry.sealed).toMatchObject({ id: entry.id, service: 'openai', keyVersion: 3 });
    expect(Buffer.from(entry.sealed!.ciphertext).toString()).toBe('CIPHERTEXT-BYTES');
    expect(JSON.stringify(entry)).not.toContain('CIPHERTEXT');
    expect(JSON.stringify(entry)).not.toContain('f'.repeat(64));
    expect({ ...entry }.sealed).toBeUndefined();
  });

  it('presents exactly the listed fields, even when the row grows new columns', () => {
    const presented = presentEntry(rowToEntry(row({ ...({ some_new_secret_column: 'NEW-COLUMN-VALUE' } as object) })));
    expect(Object.keys(presented).sort()).toEqual(
      ['createdAt', 'environment', 'id', 'invalidAt', 'keyVersion', 'label', 'lastUsedAt', 'metadata', 'priority', 'quota', 'secretHint', 'service', 'status', 'statusReason', 'teamId', 'tier', 'updatedAt', 'weight'].sort(),
    );
    expect(JSON.stringify(presented)).not.toMatch(/CIPHERTEXT|NEW-COLUMN|ffffffff/);
    expect(presented.quota).toEqual({ limit: 1.5, unit: 'credits', period: 'day' });
  });

  it('shows usage in API units: credits for credit quotas, counts otherwise', () => {
    const resetsAt = new Date('2030-01-03T00:00:00Z');
    expect(presentEntry(rowToEntry(row()), { used: 2_000_000, resetsAt }).quota).toEqual({
      limit: 1.5, unit: 'credits', period: 'day', used: 2, remaining: 0, resetsAt: '2030-01-03T00:00:00.000Z',
    });
    const requests = rowToEntry(row({ quota: { limit: 3, unit: 'requests', period: 'hour' } }));
    expect(presentEntry(requests, { used: 1, resetsAt }).quota).toMatchObject({ used: 1, remaining: 2 });
  });

  it('converts quotas between API credits and counter micro-credits', () => {
    expect(quotaFromApi({ limit: 0.000001, unit: 'credits', period: 'month' })).toEqual({ limit: 1, unit: 'credits', period: 'month' });
    expect(quotaFromApi({ limit: 7, unit: 'tokens', period: 'minute' })).toEqual({ limit: 7, unit: 'tokens', period: 'minute' });
    expect(quotaToApi(quotaFromApi({ limit: 12.34, unit: 'credits', period: 'day' })).limit).toBe(12.34);
  });
});
