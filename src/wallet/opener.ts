import { LRUCache } from 'lru-cache';
import type { SealedRow, Sealer } from './crypto';

/**
 * A wallet entry cannot be used for this request (it could not be decrypted, or it is gone). The router treats
 * it as "skip this candidate". The message names the entry and the reason, never key material.
 */
export class WalletEntryUnusable extends Error {
  readonly code = 'wallet_entry_unusable';
  constructor(
    readonly entryId: string,
    readonly reason: 'decrypt_failed' | 'not_found',
  ) {
    super(`wallet entry ${entryId} is unusable: ${reason}`);
    this.name = 'WalletEntryUnusable';
  }
}

export interface OpenerOptions {
  max?: number;
  ttlMs?: number;
}

/**
 * Decrypted secrets, briefly, so a warm request does no decryption. Each cached secret remembers the nonce it
 * was opened from: a replaced or rewrapped secret has a new nonce, so a stale plaintext is never served even
 * before the 'wallet:changed' message arrives.
 */
export class SecretOpener {
  private readonly cache: LRUCache<string, { nonce: string; secret: string }>;

  constructor(private readonly sealer: Sealer, opts: OpenerOptions = {}) {
    this.cache = new LRUCache({ max: opts.max ?? 1000, ttl: opts.ttlMs ?? 60_000 });
  }

  /** The cached plaintext for an entry, without checking which ciphertext it came from. */
  cached(id: string): string | undefined {
    return this.cache.get(id)?.secret;
  }

  /** Throws DecryptError when the ciphertext does not open under its row binding and key version. */
  open(sealed: SealedRow): string {
    const nonce = Buffer.from(sealed.nonce).toString('hex');
    const hit = this.cache.get(sealed.id);
    if (hit && hit.nonce === nonce) return hit.secret;
    const secret = this.sealer.open(sealed);
    this.cache.set(sealed.id, { nonce, secret });
    return secret;
  }

  drop(id: string): void {
    this.cache.delete(id);
  }

  clear(): void {
    this.cache.clear();
  }
}
