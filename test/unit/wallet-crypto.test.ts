import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  createSealer,
  DecryptError,
  generateMasterKey,
  initSodium,
  maskSecret,
  parseMasterKeys,
  type SealedRow,
} from '../../src/wallet/crypto';

const SECRET = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
const KEY_V1 = generateMasterKey();
const KEY_V2 = generateMasterKey();
const bind = { id: '7f1c2d4e-0000-4000-8000-000000000001', service: 'openai' };

function expectDecryptError(fn: () => unknown, reason: DecryptError['reason']): DecryptError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecryptError);
    const error = err as DecryptError;
    expect(error.code).toBe('decrypt_failed');
    expect(error.reason).toBe(reason);
    expect(error.message).not.toContain(SECRET);
    return error;
  }
  throw new Error('expected a DecryptError');
}

describe('before initSodium', () => {
  it('createSealer refuses to run and says what to do', () => {
    expect(() => createSealer(parseMasterKeys(`1:${KEY_V1}`))).toThrow(/initSodium/);
  });
});

describe('wallet crypto', () => {
  beforeAll(async () => {
    await initSodium();
  });

  const ring = () => parseMasterKeys(`2:${KEY_V2},1:${KEY_V1}`);

  it('round-trips a secret, including non-ASCII text', () => {
    const sealer = createSealer(ring());
    const sealed = sealer.seal(SECRET, bind);
    expect(sealed.keyVersion).toBe(2);
    expect(sealed.nonce).toHaveLength(24);
    expect(Buffer.isBuffer(sealed.ciphertext)).toBe(true);
    expect(sealed.ciphertext.toString('utf8')).not.toContain(SECRET);
    expect(sealer.open({ ...bind, ...sealed })).toBe(SECRET);
    const unicode = 'clé-ünïcødé-🔑';
    expect(sealer.open({ ...bind, ...sealer.seal(unicode, bind) })).toBe(unicode);
  });

  it('uses a fresh nonce every time, so equal plaintexts give different ciphertexts', () => {
    const sealer = createSealer(ring());
    const a = sealer.seal(SECRET, bind);
    const b = sealer.seal(SECRET, bind);
    expect(a.nonce.equals(b.nonce)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('rejects a tampered ciphertext', () => {
    const sealer = createSealer(ring());
    const sealed = sealer.seal(SECRET, bind);
    const ciphertext = Buffer.from(sealed.ciphertext);
    ciphertext[3] ^= 0x01;
    expectDecryptError(() => sealer.open({ ...bind, ...sealed, ciphertext }), 'authentication_failed');
    const truncated = sealed.ciphertext.subarray(0, sealed.ciphertext.length - 1);
    expectDecryptError(() => sealer.open({ ...bind, ...sealed, ciphertext: truncated }), 'authentication_failed');
  });

  it('rejects a tampered or malformed nonce', () => {
    const sealer = createSealer(ring());
    const sealed = sealer.seal(SECRET, bind);
    const nonce = Buffer.from(sealed.nonce);
    nonce[0] ^= 0x80;
    expectDecryptError(() => sealer.open({ ...bind, ...sealed, nonce }), 'authentication_failed');
    expectDecryptError(
      () => sealer.open({ ...bind, ...sealed, nonce: sealed.nonce.subarray(0, 12) }),
      'authentication_failed',
    );
  });

  it('binds the ciphertext to its row: another id or service cannot open it', () => {
    const sealer = createSealer(ring());
    const sealed = sealer.seal(SECRET, bind);
    const error = expectDecryptError(
      () => sealer.open({ ...sealed, id: '7f1c2d4e-0000-4000-8000-000000000002', service: bind.service }),
      'authentication_failed',
    );
    expect(error.message).toBe('authentication failed');
    expectDecryptError(() => sealer.open({ ...sealed, id: bind.id, service: 'anthropic' }), 'authentication_failed');
  });

  it('binds the key version: relabelling a row with another known version fails', () => {
    const sealer = createSealer(ring());
    const sealed = sealer.seal(SECRET, bind);
    expectDecryptError(() => sealer.open({ ...bind, ...sealed, keyVersion: 1 }), 'authentication_failed');
  });

  it('reports an unknown key version distinctly', () => {
    const sealer = createSealer(ring());
    const sealed = sealer.seal(SECRET, bind);
    const error = expectDecryptError(() => sealer.open({ ...bind, ...sealed, keyVersion: 7 }), 'unknown_key_version');
    expect(error.message).toBe('unknown key version 7');
  });

  it('opens rows sealed under every version in the ring, and drops removed versions', () => {
    const v1Only = createSealer(parseMasterKeys(`1:${KEY_V1}`));
    const oldRow: SealedRow = { ...bind, ...v1Only.seal(SECRET, bind) };
    expect(oldRow.keyVersion).toBe(1);

    const rotated = createSealer(ring());
    expect(rotated.currentVersion).toBe(2);
    expect(rotated.open(oldRow)).toBe(SECRET);
    const newRow: SealedRow = { ...bind, ...rotated.seal(SECRET, bind) };
    expect(rotated.open(newRow)).toBe(SECRET);

    const v2Only = createSealer(parseMasterKeys(`2:${KEY_V2}`));
    expect(v2Only.open(newRow)).toBe(SECRET);
    expectDecryptError(() => v2Only.open(oldRow), 'unknown_key_version');
  });

  it('the same version number with a different key material cannot open the row', () => {
    const sealed = createSealer(parseMasterKeys(`1:${KEY_V1}`)).seal(SECRET, bind);
    const other = createSealer(parseMasterKeys(`1:${KEY_V2}`));
    expectDecryptError(() => other.open({ ...bind, ...sealed }), 'authentication_failed');
  });

  it('accepts Uint8Array columns as well as Buffers', () => {
    const sealer = createSealer(ring());
    const sealed = sealer.seal(SECRET, bind);
    const row = { ...bind, keyVersion: sealed.keyVersion, ciphertext: new Uint8Array(sealed.ciphertext), nonce: new Uint8Array(sealed.nonce) };
    expect(sealer.open(row)).toBe(SECRET);
  });

  it('refuses ids or services that would make the associated data ambiguous', () => {
    const sealer = createSealer(ring());
    expect(() => sealer.seal(SECRET, { id: 'a|b', service: 'c' })).toThrow(TypeError);
    expect(() => sealer.seal(SECRET, { id: '', service: 'c' })).toThrow(TypeError);
  });

  it('fingerprints are stable, hex, version-specific and independent of the sealing key', () => {
    const sealer = createSealer(ring());
    const fp = sealer.fingerprint(SECRET);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(createSealer(ring()).fingerprint(SECRET)).toBe(fp);
    expect(sealer.fingerprint(SECRET, 2)).toBe(fp);
    expect(sealer.fingerprint(SECRET, 1)).not.toBe(fp);
    expect(sealer.fingerprint(`${SECRET}x`)).not.toBe(fp);
    expect(() => sealer.fingerprint(SECRET, 9)).toThrow(RangeError);
  });

  it('fingerprints() finds a duplicate whichever version fingerprinted the other row', () => {
    const oldSealer = createSealer(parseMasterKeys(`1:${KEY_V1}`));
    const stored = oldSealer.fingerprint(SECRET);
    const all = createSealer(ring()).fingerprints(SECRET);
    expect(all).toHaveLength(2);
    expect(all[1]).toBe(stored);
    expect(all[0]).toBe(createSealer(parseMasterKeys(`2:${KEY_V2}`)).fingerprint(SECRET));
  });

  it('a fingerprint key with another master key gives another fingerprint', () => {
    const a = createSealer(parseMasterKeys(`1:${KEY_V1}`)).fingerprint(SECRET);
    const b = createSealer(parseMasterKeys(`1:${KEY_V2}`)).fingerprint(SECRET);
    expect(a).not.toBe(b);
  });
});

describe('parseMasterKeys', () => {
  it('parses versions in order with the first as current', () => {
    const ring = parseMasterKeys(` 3:${KEY_V2} , 1:${KEY_V1}`);
    expect(ring.current).toBe(3);
    expect(ring.versions).toEqual([3, 1]);
    expect(ring.has(1)).toBe(true);
    expect(ring.has(2)).toBe(false);
  });

  it('accepts URL-safe base64 and unpadded keys', () => {
    const urlSafe = Buffer.from(KEY_V1, 'base64').toString('base64url');
    expect(parseMasterKeys(`1:${urlSafe}`).current).toBe(1);
  });

  it('never exposes key material through the ring object', () => {
    const ring = parseMasterKeys(`2:${KEY_V2},1:${KEY_V1}`);
    const dumped = JSON.stringify(ring) + inspect(ring, { showHidden: true, depth: 5 });
    expect(dumped).not.toContain(KEY_V1);
    expect(dumped).not.toContain(KEY_V2);
    expect(Object.isFrozen(ring)).toBe(true);
  });

  const short = randomBytes(16).toString('base64');
  const long = randomBytes(33).toString('base64');
  const cases: Array<[string, string, RegExp, string[]]> = [
    ['empty', '', /is empty/, []],
    ['blank', '   ', /is empty/, []],
    ['no version prefix', KEY_V1, /entry 1 of 1 has no "<version>:" prefix/, [KEY_V1]],
    ['version zero', `0:${KEY_V1}`, /not a positive integer/, [KEY_V1]],
    ['negative version', `-1:${KEY_V1}`, /not a positive integer/, [KEY_V1]],
    ['fractional version', `1.5:${KEY_V1}`, /not a positive integer/, [KEY_V1]],
    ['version too large', `99999999999:${KEY_V1}`, /not a positive integer/, [KEY_V1]],
    ['key pasted as version', `${KEY_V1}:${KEY_V2}`, /entry 1 of 1 has a version/, [KEY_V1, KEY_V2]],
    ['duplicate version', `2:${KEY_V2},2:${KEY_V1}`, /version 2 appears more than once/, [KEY_V1, KEY_V2]],
    ['16-byte key', `1:${short}`, /version 1 decodes to 16 bytes, 32 are required/, [short]],
    ['33-byte key', `1:${long}`, /version 1 decodes to 33 bytes/, [long]],
    ['not base64', `1:${KEY_V1.slice(0, 20)}!!${KEY_V1.slice(22)}`, /version 1 is not valid base64/, [KEY_V1.slice(0, 20)]],
    ['trailing comma', `1:${KEY_V1},`, /entry 2 of 2 has no/, [KEY_V1]],
    ['second entry bad', `2:${KEY_V2},1:${short}`, /version 1 decodes to 16 bytes/, [KEY_V2, short]],
  ];
  it.each(cases)('rejects %s, naming the variable but not the key', (_label, value, message, secrets) => {
    let error: unknown;
    try {
      parseMasterKeys(value);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    const text = (error as Error).message;
    expect(text).toContain('KEYWALLET_MASTER_KEYS');
    expect(text).toMatch(message);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});

describe('generateMasterKey', () => {
  it('returns base64 of 32 random bytes, different each time', () => {
    const a = generateMasterKey();
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(a).not.toBe(generateMasterKey());
    expect(parseMasterKeys(`1:${a}`).current).toBe(1);
  });
});

describe('maskSecret', () => {
  it('shows at most the last 4 characters', () => {
    expect(maskSecret(SECRET)).toBe('…6789');
    expect(maskSecret('sk_live_abcdefWXYZ')).toBe('…WXYZ');
  });
  it('shows nothing of short secrets', () => {
    expect(maskSecret('')).toBe('…');
    expect(maskSecret('abcd')).toBe('…');
    expect(maskSecret('abcdefghijk')).toBe('…');
  });
});
