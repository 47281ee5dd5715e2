import { createSealer, generateMasterKey, initSodium, parseMasterKeys, Sealer } from '../../src/wallet/crypto';
import { SecretOpener } from '../../src/wallet/opener';

describe('SecretOpener', () => {
  let sealer: Sealer;
  const bind = { id: '7f1c2d4e-0000-4000-8000-00000000000a', service: 'stripe' };
  beforeAll(async () => {
    await initSodium();
    sealer = createSealer(parseMasterKeys(`1:${generateMasterKey()}`));
  });

  it('decrypts once per ciphertext and serves warm reads from memory', () => {
    const open = jest.spyOn(sealer, 'open');
    const opener = new SecretOpener(sealer);
    const row = { ...bind, ...sealer.seal('sk_live_first-secret-value', bind) };
    expect(opener.open(row)).toBe('sk_live_first-secret-value');
    expect(opener.open(row)).toBe('sk_live_first-secret-value');
    expect(opener.cached(bind.id)).toBe('sk_live_first-secret-value');
    expect(open).toHaveBeenCalledTimes(1);

    // a replaced (or rewrapped) secret has a new nonce: never the stale plaintext
    const replaced = { ...bind, ...sealer.seal('sk_live_second-secret-value', bind) };
    expect(opener.open(replaced)).toBe('sk_live_second-secret-value');
    expect(open).toHaveBeenCalledTimes(2);

    opener.drop(bind.id);
    expect(opener.cached(bind.id)).toBeUndefined();
    open.mockRestore();
  });

  it('expires entries after the TTL and keeps at most `max`', async () => {
    const opener = new SecretOpener(sealer, { max: 2, ttlMs: 30 });
    const rows = ['a', 'b', 'c'].map((c, i) => {
      const b = { id: `7f1c2d4e-0000-4000-8000-00000000000${i}`, service: 'stripe' };
      return { ...b, ...sealer.seal(`secret-${c}-0123456789`, b) };
    });
    rows.forEach((r) => opener.open(r));
    expect(opener.cached(rows[0].id)).toBeUndefined();
    expect(opener.cached(rows[2].id)).toBe('secret-c-0123456789');
    await new Promise((r) => setTimeout(r, 60));
    expect(opener.cached(rows[2].id)).toBeUndefined();
  });

  it('lets a decryption failure through for the caller to handle', () => {
    const opener = new SecretOpener(sealer);
    const row = { ...bind, ...sealer.seal('sk_live_third-secret-value', bind) };
    expect(() => opener.open({ ...row, id: '7f1c2d4e-0000-4000-8000-0000000000ff' })).toThrow('authentication failed');
  });
});
