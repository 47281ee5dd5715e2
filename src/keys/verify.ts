import type Koa from 'koa';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import type { KvStore } from '../store/kv';
import { AppError } from '../http/errors';
import { AppContext, clientIp } from '../http/context';
import { hashGatewayKey, parseGatewayKey } from './key-format';
import { lookupGatewayKey, LookupOutcome, VerifiedKey } from './lookup';
import { assertNetworkAllowed } from './restrictions';
import { decodeChange, KEYS_CHANGED, PLANS_CHANGED, TEAMS_CHANGED, USERS_CHANGED } from './events';
import { isDatabaseUnavailable, MAX_STALE_ON_DB_ERROR_MS } from '../store/db-unavailable';

export interface GatewayKeyVerifierDeps {
  db: Db;
  kv: KvStore;
  clock: Clock;
  logger: Logger;
}

export interface GatewayKeyVerifierOptions {
  /** a safety net only: changes arrive over pub/sub, this bounds staleness if a message is ever lost */
  positiveTtlMs?: number;
  /** unknown and revoked keys, so a flood of made-up keys does not reach the database */
  negativeTtlMs?: number;
  maxEntries?: number;
  /** how often a key's last_used_at is written, at most */
  touchIntervalMs?: number;
}

export interface GatewayKeyVerifier {
  /** the key's principal and restrictions; throws 401 invalid_api_key for anything unusable */
  verify(key: string): Promise<VerifiedKey>;
  /** Koa middleware: credential → verify → IP / referrer allow-lists → ctx.state.principal */
  guard: Koa.Middleware;
  invalidateKeys(keyIds: string[]): void;
  invalidateAll(): void;
  /** database lookups made so far (observability and tests of the warm path) */
  lookups(): number;
}

type Negative = Extract<LookupOutcome, { ok: false }>['reason'];
type CacheEntry = { key: VerifiedKey } | { refused: Negative };
/** `at`: when it was read (deps.clock) */
type Positive = { key: VerifiedKey; at: number };

const REFUSALS: Record<Negative | 'expired' | 'malformed', string> = {
  malformed: 'Invalid API key format',
  unknown: 'Invalid API key',
  revoked: 'This API key has been revoked',
  user_disabled: 'Invalid API key',
  expired: 'This API key has expired',
};

const refuse = (why: keyof typeof REFUSALS) => new AppError('invalid_api_key', REFUSALS[why]);

const CREDENTIAL_HEADERS = ['x-api-key', 'api-key'];

/** `Authorization: Bearer`, then `x-api-key` (Anthropic SDKs, Claude Code), then `api-key` (Azure-style clients). */
export function extractGatewayKey(ctx: Pick<AppContext, 'get'>): string | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  if (bearer) return bearer[1];
  for (const name of CREDENTIAL_HEADERS) {
    const value = ctx.get(name).trim();
    if (value) return value;
  }
  return null;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The gateway-key hot path: checksum (no lookup for a mistyped key) → SHA-256 → LRU → on a miss, one query.
 * Every node subscribes to key, user and plan changes and drops what they affect, so revocations are seen
 * everywhere within the pub/sub delay. A lookup racing an invalidation is not cached (generation check).
 */
export async function createGatewayKeyVerifier(
  deps: GatewayKeyVerifierDeps,
  opts: GatewayKeyVerifierOptions = {},
): Promise<GatewayKeyVerifier> {
  const max = opts.maxEntries ?? 10_000;
  const positiveTtl = opts.positiveTtlMs ?? 60_000;
  // Entries outlive their TTL (up to the stale bound) so that a key verified recently keeps working while
  // PostgreSQL is unreachable; a fresh read is still made once the TTL is over. Invalidations delete them outright.
  const positive = new LRUCache<string, Positive>({ max, ttl: Math.max(positiveTtl, MAX_STALE_ON_DB_ERROR_MS) });
  const negative = new LRUCache<string, { refused: Negative }>({ max, ttl: opts.negativeTtlMs ?? 10_000 });
  const keyIdToHash = new Map<string, string>();
  const inFlight = new Map<string, Promise<CacheEntry>>();
  const touched = new LRUCache<string, true>({ max, ttl: opts.touchIntervalMs ?? 60_000 });
  let generation = 0;
  let lookups = 0;

  const invalidateAll = () => {
    generation++;
    positive.clear();
    negative.clear();
    keyIdToHash.clear();
    inFlight.clear();
  };
  const invalidateKeys = (keyIds: string[]) => {
    generation++;
    for (const id of keyIds) {
      const hash = keyIdToHash.get(id);
      if (hash) positive.delete(hash);
      keyIdToHash.delete(id);
    }
    // Negative entries are cheap to rebuild; dropping them means no change can leave a stale refusal.
    negative.clear();
    inFlight.clear();
  };

  const onChange = (scope: 'keys' | 'all') => (message: string) => {
    const change = scope === 'keys' ? decodeChange(message) : null;
    if (change) invalidateKeys(change.ids);
    else invalidateAll();
  };
  await deps.kv.subscribe(KEYS_CHANGED, onChange('keys'));
  await deps.kv.subscribe(USERS_CHANGED, onChange('all'));
  await deps.kv.subscribe(PLANS_CHANGED, onChange('all'));
  await deps.kv.subscribe(TEAMS_CHANGED, onChange('all'));

  async function load(hash: string, stale: Positive | undefined): Promise<CacheEntry> {
    const startedAt = generation;
    lookups++;
    let outcome: LookupOutcome;
    try {
      outcome = await lookupGatewayKey(deps.db, hash);
    } catch (err) {
      // stale-while-error: the last good read, unless a change message dropped it meanwhile
      const usable = stale && positive.get(hash) === stale && deps.clock.now() - stale.at < MAX_STALE_ON_DB_ERROR_MS;
      if (usable && isDatabaseUnavailable(err)) return stale;
      throw err;
    }
    const entry: CacheEntry = outcome.ok ? { key: deepFreeze(outcome.key) } : { refused: outcome.reason };
    if (startedAt === generation) {
      if ('key' in entry) {
        positive.set(hash, { key: entry.key, at: deps.clock.now() });
        keyIdToHash.set(entry.key.principal.keyId, hash);
      } else {
        negative.set(hash, entry);
      }
    }
    return entry;
  }

  async function verify(key: string): Promise<VerifiedKey> {
    if (!parseGatewayKey(key)) throw refuse('malformed');
    const hash = hashGatewayKey(key);
    const known = positive.get(hash);
    const age = known ? deps.clock.now() - known.at : Infinity;
    let entry: CacheEntry | undefined = age < positiveTtl ? known : negative.get(hash);
    if (!entry) {
      let pending = inFlight.get(hash);
      if (!pending) {
        pending = load(hash, known).finally(() => inFlight.delete(hash));
        inFlight.set(hash, pending);
      }
      entry = await pending;
    }
    if ('refused' in entry) throw refuse(entry.refused);
    if (entry.key.expiresAtMs !== null && entry.key.expiresAtMs <= deps.clock.now()) throw refuse('expired');
    return entry.key;
  }

  /** last_used_at is informative: written at most once per interval per key and node, off the request path. */
  function touch(keyId: string): void {
    if (touched.has(keyId)) return;
    touched.set(keyId, true);
    deps
      .db('gateway_keys')
      .where({ id: keyId })
      .update({ last_used_at: new Date(deps.clock.now()) })
      .catch((err: unknown) => deps.logger.warn({ err, keyId }, 'could not record last use of a gateway key'));
  }

  const guard: Koa.Middleware = async (ctx: AppContext, next) => {
    const presented = extractGatewayKey(ctx);
    if (!presented) {
      throw new AppError('invalid_api_key', 'Missing API key: send it as "Authorization: Bearer <key>", x-api-key or api-key');
    }
    const verified = await verify(presented);
    assertNetworkAllowed(verified, clientIp(ctx), ctx.get('referer') || ctx.get('origin') || undefined);
    ctx.state.principal = verified.principal;
    touch(verified.principal.keyId);
    await next();
  };

  return { verify, guard, invalidateKeys, invalidateAll, lookups: () => lookups };
}
