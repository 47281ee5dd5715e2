import crypto from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { KvStore, CounterCheck } from '../store/kv';
import type { Metrics } from '../metrics/metrics';
import { AppError } from '../http/errors';

/**
 * Brute-force protection for password logins that cannot be turned against the account's owner.
 *
 * - Per (account, source) pair: consecutive failures back off exponentially (after `freeFailures`, each further
 *   attempt waits 1 s, 2 s, 4 s … up to `maxBackoffMs` after the last failure). A success clears the pair.
 *   One attempt per pair is in flight at a time, so a burst of parallel guesses cannot skip the backoff.
 * - Per source (an IPv4 address, or an IPv6 /64): failures across all accounts in a sliding window and per day
 *   (password spraying, slow brute force).
 * - Per account, from anywhere: failures in a sliding window refuse *unknown* sources only. A source that has
 *   logged in to the account before (remembered `knownSourceMs`) is never refused by it: an attacker failing
 *   from many addresses slows the attack down without locking the owner out.
 * Counters are atomic across nodes (one `admit` per attempt); successful attempts hand their slots back.
 */
export interface LoginLimits {
  /** failures per account in `windowMs` after which sources that never logged in to it are refused */
  perAccount: number;
  /** failures per source in `windowMs`, across accounts */
  perIp: number;
  windowMs: number;
  /** failures per source per day, across accounts */
  perIpPerDay: number;
  /** consecutive failures of one (account, source) pair before the backoff starts */
  freeFailures: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** how long a source that logged in successfully stays known to the account */
  knownSourceMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perAccount: 10,
  perIp: 50,
  windowMs: 15 * 60_000,
  perIpPerDay: 300,
  freeFailures: 5,
  baseBackoffMs: 1_000,
  maxBackoffMs: 15 * 60_000,
  knownSourceMs: 30 * 86_400_000,
};

const DAY_MS = 86_400_000;
/** an attempt (one scrypt verification) never takes this long; a crashed one frees its pair after it */
const IN_FLIGHT_TTL_MS = 30_000;
/** a pair's failure streak is forgotten after a day without attempts */
const PAIR_STATE_TTL_MS = DAY_MS;

export interface LoginAttempt {
  /** call after a successful login: hands the slots back, clears the pair's streak, remembers the source */
  succeeded(): Promise<void>;
  /** call after a failed one: the pair's streak grows (and with it the backoff) */
  failed(): Promise<void>;
}

/** The unit a source is limited by: an IPv4 address, or the /64 an IPv6 host gets (it holds 2^64 addresses). */
export function sourceOf(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip.slice(0, 64) || 'unknown';
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}

/** Account and source are hashed: counter keys never carry user-controlled text into key names. */
function digest(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 32);
}

interface PairState {
  fails: number;
  lastFailMs: number;
}

export function backoffMs(fails: number, limits: LoginLimits): number {
  if (fails < limits.freeFailures) return 0;
  return Math.min(limits.maxBackoffMs, limits.baseBackoffMs * 2 ** (fails - limits.freeFailures));
}

function refuse(metrics: Metrics, retryAfterMs: number): never {
  metrics.rateLimited.labels('login', 'login').inc();
  throw new AppError('rate_limited', 'Too many login attempts; try again later', {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  });
}

export async function admitLoginAttempt(
  deps: { kv: KvStore; metrics: Metrics },
  email: string,
  ip: string,
  nowMs: number,
  limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
): Promise<LoginAttempt> {
  const { kv, metrics } = deps;
  const account = digest(email.trim().toLowerCase());
  const source = digest(sourceOf(ip));
  const pair = `login:pair:${account}:${source}`;
  const knownKey = `login:known:${account}:${source}`;
  const known = await kv.get(knownKey);

  const inFlight: CounterCheck = { key: `${pair}:busy`, limit: 1, cost: 1, ttlMs: IN_FLIGHT_TTL_MS };
  const counted: CounterCheck[] = [
    { key: `login:ip:${source}`, limit: limits.perIp, cost: 1, windowMs: limits.windowMs },
    { key: `login:ipday:${source}`, limit: limits.perIpPerDay, cost: 1, windowMs: DAY_MS },
  ];
  if (!known) counted.push({ key: `login:acct:${account}`, limit: limits.perAccount, cost: 1, windowMs: limits.windowMs });
  const wanted = [inFlight, ...counted];
  const result = await kv.admit(wanted, nowMs);
  if (!result.ok) refuse(metrics, result.blocked === 0 ? 1000 : result.states[result.blocked].resetMs);

  const release = (checks: CounterCheck[]) => kv.adjustMany(checks.map((check) => ({ check, delta: -1 })), nowMs);
  // read once the pair's in-flight slot is ours: no other attempt of this pair can change it meanwhile
  const stored = await kv.get(pair);
  const state: PairState = stored ? (JSON.parse(stored) as PairState) : { fails: 0, lastFailMs: 0 };
  const waitMs = state.lastFailMs + backoffMs(state.fails, limits) - nowMs;
  if (waitMs > 0) {
    await release(wanted);
    refuse(metrics, waitMs);
  }
  return {
    succeeded: async () => {
      await Promise.all([release(wanted), kv.del(pair), kv.set(knownKey, '1', limits.knownSourceMs)]);
    },
    failed: async () => {
      const next: PairState = { fails: state.fails + 1, lastFailMs: nowMs };
      await kv.set(pair, JSON.stringify(next), PAIR_STATE_TTL_MS);
      await release([inFlight]);
    },
  };
}
