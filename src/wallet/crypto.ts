import { randomBytes } from 'node:crypto';
// `import =` keeps the live module object: libsodium fills in its functions only after `ready`,
// so an interop copy taken at import time would miss them.
import sodium = require('libsodium-wrappers');

const ENV_NAME = 'KEYWALLET_MASTER_KEYS';
const MASTER_KEY_BYTES = 32;
const MAX_KEY_VERSION = 2_147_483_647; // fits a PostgreSQL integer column
const AEAD_CONTEXT = 'kwwallet';
const FINGERPRINT_CONTEXT = 'kwfinger';
const SUBKEY_ID = 1;
const NONCE_BYTES = 24;

let sodiumReady = false;

/** Await once at boot (and in tests) before any sealer is created. */
export async function initSodium(): Promise<void> {
  await sodium.ready;
  sodiumReady = true;
}

function assertSodiumReady(): void {
  if (!sodiumReady) {
    throw new Error('libsodium is not initialised: await initSodium() before using wallet crypto');
  }
}

export interface MasterKeyRing {
  readonly current: number;
  readonly versions: number[];
  has(version: number): boolean;
}

/** Raw key bytes live here, not on the ring, so logging or serialising a ring cannot leak them. */
const ringKeys = new WeakMap<MasterKeyRing, ReadonlyMap<number, Uint8Array>>();

function masterKeyError(problem: string): Error {
  return new Error(`${ENV_NAME}: ${problem} (expected "2:<base64 of 32 bytes>,1:<base64>", current version first)`);
}

function decodeStrictBase64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return null;
  const normalised = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (normalised.length % 4 === 1) return null;
  const bytes = Buffer.from(normalised, 'base64');
  // Buffer's decoder silently drops trailing bits; a round trip rejects mangled input.
  if (bytes.toString('base64').replace(/=+$/, '') !== normalised) return null;
  return bytes;
}

/** Parses `KEYWALLET_MASTER_KEYS`. Error messages name positions and versions, never key material. */
export function parseMasterKeys(value: string): MasterKeyRing {
  if (typeof value !== 'string' || value.trim() === '') throw masterKeyError('is empty');
  const keys = new Map<number, Uint8Array>();
  const versions: number[] = [];
  const entries = value.split(',');
  entries.forEach((rawEntry, index) => {
    const position = `entry ${index + 1} of ${entries.length}`;
    const entry = rawEntry.trim();
    const colon = entry.indexOf(':');
    if (colon < 0) throw masterKeyError(`${position} has no "<version>:" prefix`);
    const versionText = entry.slice(0, colon).trim();
    if (!/^[1-9][0-9]{0,9}$/.test(versionText) || Number(versionText) > MAX_KEY_VERSION) {
      throw masterKeyError(`${position} has a version that is not a positive integer`);
    }
    const version = Number(versionText);
    if (keys.has(version)) throw masterKeyError(`version ${version} appears more than once`);
    const bytes = decodeStrictBase64(entry.slice(colon + 1).trim());
    if (!bytes) throw masterKeyError(`the key of version ${version} is not valid base64`);
    if (bytes.length !== MASTER_KEY_BYTES) {
      throw masterKeyError(
        `the key of version ${version} decodes to ${bytes.length} bytes, ${MASTER_KEY_BYTES} are required`,
      );
    }
    keys.set(version, new Uint8Array(bytes));
    versions.push(version);
  });
  const ring: MasterKeyRing = Object.freeze({
    current: versions[0],
    versions: [...versions],
    has: (version: number) => keys.has(version),
  });
  ringKeys.set(ring, keys);
  return ring;
}

/**
 * One subkey per master key version for another capability (the audit chain's HMAC key, say), derived with
 * crypto_kdf under that capability's own 8-character context: the master keys themselves never leave this file.
 */
export function deriveSubkeys(ring: MasterKeyRing, context: string, bytes = 32): Map<number, Uint8Array> {
  assertSodiumReady();
  const masterKeys = ringKeys.get(ring);
  if (!masterKeys) throw new TypeError('deriveSubkeys needs a ring returned by parseMasterKeys');
  if (context.length !== 8 || context === AEAD_CONTEXT || context === FINGERPRINT_CONTEXT) {
    throw new RangeError('a subkey context is 8 characters and not one of the wallet\'s own');
  }
  const out = new Map<number, Uint8Array>();
  for (const [version, master] of masterKeys) out.set(version, sodium.crypto_kdf_derive_from_key(bytes, SUBKEY_ID, context, master));
  return out;
}

/** A fresh master key in the format `parseMasterKeys` expects after `<version>:`. */
export function generateMasterKey(): string {
  return randomBytes(MASTER_KEY_BYTES).toString('base64');
}

export type DecryptFailure = 'unknown_key_version' | 'authentication_failed';

/** A wallet row could not be opened. The message never contains ciphertext or plaintext. */
export class DecryptError extends Error {
  readonly code = 'decrypt_failed';
  constructor(
    readonly reason: DecryptFailure,
    message: string,
  ) {
    super(message);
    this.name = 'DecryptError';
  }
}

export interface RowBinding {
  id: string;
  service: string;
}

export interface SealedSecret {
  ciphertext: Buffer;
  nonce: Buffer;
  keyVersion: number;
}

export interface SealedRow extends RowBinding {
  ciphertext: Buffer | Uint8Array;
  nonce: Buffer | Uint8Array;
  keyVersion: number;
}

export interface Sealer {
  seal(plaintext: string, bind: RowBinding): SealedSecret;
  open(row: SealedRow): string;
  fingerprint(secret: string, version?: number): string;
  fingerprints(secret: string): string[];
  readonly currentVersion: number;
}

function associatedData(bind: RowBinding, keyVersion: number): string {
  // '|' is the field separator: allowing it inside a field would let two different rows share one AD.
  for (const [field, value] of [['id', bind.id], ['service', bind.service]] as const) {
    if (typeof value !== 'string' || value === '' || value.includes('|')) {
      throw new TypeError(`wallet row ${field} must be a non-empty string without "|"`);
    }
  }
  return `keywallet:v1|${bind.id}|${bind.service}|${keyVersion}`;
}

export function createSealer(ring: MasterKeyRing): Sealer {
  assertSodiumReady();
  const masterKeys = ringKeys.get(ring);
  if (!masterKeys) throw new TypeError('createSealer needs a ring returned by parseMasterKeys');

  // Each master key only feeds the KDF; encryption and fingerprinting use independent subkeys.
  const aeadKeys = new Map<number, Uint8Array>();
  const fingerprintKeys = new Map<number, Uint8Array>();
  for (const [version, master] of masterKeys) {
    aeadKeys.set(
      version,
      sodium.crypto_kdf_derive_from_key(
        sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES, SUBKEY_ID, AEAD_CONTEXT, master,
      ),
    );
    fingerprintKeys.set(
      version,
      sodium.crypto_kdf_derive_from_key(sodium.crypto_generichash_KEYBYTES, SUBKEY_ID, FINGERPRINT_CONTEXT, master),
    );
  }

  function fingerprint(secret: string, version: number = ring.current): string {
    const key = fingerprintKeys.get(version);
    if (!key) throw new RangeError(`unknown master key version ${version}`);
    return sodium.crypto_generichash(32, sodium.from_string(secret), key, 'hex');
  }

  return {
    currentVersion: ring.current,

    seal(plaintext, bind) {
      const keyVersion = ring.current;
      const ad = associatedData(bind, keyVersion);
      const nonce = sodium.randombytes_buf(NONCE_BYTES);
      const message = sodium.from_string(plaintext);
      const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        message, ad, null, nonce, aeadKeys.get(keyVersion)!,
      );
      sodium.memzero(message);
      return { ciphertext: Buffer.from(ciphertext), nonce: Buffer.from(nonce), keyVersion };
    },

    open(row) {
      const key = aeadKeys.get(row.keyVersion);
      if (!key) {
        throw new DecryptError('unknown_key_version', `unknown key version ${row.keyVersion}`);
      }
      let plain: Uint8Array;
      try {
        const ad = associatedData(row, row.keyVersion);
        if (row.nonce.length !== NONCE_BYTES) throw new Error('malformed nonce');
        plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
          null, new Uint8Array(row.ciphertext), ad, new Uint8Array(row.nonce), key,
        );
      } catch {
        throw new DecryptError('authentication_failed', 'authentication failed');
      }
      const text = Buffer.from(plain).toString('utf8');
      sodium.memzero(plain);
      return text;
    },

    fingerprint,

    fingerprints(secret) {
      return ring.versions.map((version) => fingerprint(secret, version));
    },
  };
}

/** `…` plus the last 4 characters; secrets too short to spare 4 characters show nothing. */
export function maskSecret(secret: string): string {
  if (typeof secret !== 'string' || secret.length < 12) return '…';
  return `…${secret.slice(-4)}`;
}
