import type { Quota } from './quota';

/**
 * The pure core of routing: which wallet entries may serve a request, and in which order. No I/O, no clock,
 * no randomness of its own, so every decision can be replayed in a unit test and explained in a dry run.
 */

export type Environment = 'live' | 'test';

/** What routing needs to know about a wallet entry (never its secret). */
export interface RoutableEntry {
  id: string;
  service: string;
  label: string;
  tier: 'free' | 'paid';
  priority: number;
  weight: number;
  environment: Environment;
  status: 'active' | 'disabled' | 'invalid';
  quota: Quota | null;
  /** the team whose own pool the entry is in; null or absent: the organisation's shared pool */
  teamId?: string | null;
}

/** What routing knows about the entries right now (cooldowns shared across nodes, quota counters, load). */
export interface RoutingState {
  /** entry id → ms until which it must not be used (429, 5xx, timeout, connection error) */
  cooldownUntil: ReadonlyMap<string, number>;
  /** entries whose quota cannot take this request in the current period */
  quotaExhausted: Set<string>;
  /** entry id → ms until which its upstream said it has nothing left (rate-limit headers): tried last */
  steerAway: ReadonlyMap<string, number>;
  /** entry id → requests recently sent through it (for least-used ordering among equals) */
  leastUsed: Map<string, number>;
}

export type SkipReason = 'disabled' | 'invalid' | 'cooling_down' | 'quota_exhausted';
/** Why an entry is not for this caller at all: another team's pool, or the shared pool for a team that keeps to its own. */
export type PoolExclusion = 'other_team_pool' | 'team_own_pool_only';

/** The caller's team (the gateway key's): its own entries first, then the shared pool unless `ownPoolOnly`. */
export interface PoolRequest {
  id: string;
  ownPoolOnly?: boolean;
}

export interface OrderRequest {
  service: string;
  environment: Environment;
  /**
   * Among entries of equal tier and priority: 'weighted' draws by weight, 'least_used' takes the least used
   * first, 'auto' (default) draws by weight when the weights differ and takes the least used when they are equal.
   */
  strategy?: 'auto' | 'weighted' | 'least_used';
  /** a number in [0, 1); Math.random unless a test injects its own */
  random?: () => number;
  /** the key's team; none: the shared pool only (a team's entries never serve a key outside it) */
  team?: PoolRequest | null;
}

export interface OrderedCandidate<E extends RoutableEntry = RoutableEntry> {
  entry: E;
  /** why it sits where it does, e.g. "free tier, priority 10, weight 3 of 4" */
  why: string;
  steered: boolean;
}

export interface OrderResult<E extends RoutableEntry = RoutableEntry> {
  ordered: E[];
  /** the same entries as `ordered`, with the reason for each place (worked out when asked: only the dry run does) */
  explain(): OrderedCandidate<E>[];
  skipped: { id: string; reason: SkipReason; until?: number }[];
  /**
   * Entries of the service and environment that are not this caller's to use (another team's pool; the shared pool
   * for an own-pool-only team). Not candidates: not counted in the decision, shown by the dry run only.
   */
  excluded: { id: string; reason: PoolExclusion }[];
}

const TIER_RANK: Record<RoutableEntry['tier'], number> = { free: 0, paid: 1 };

function skipReason(entry: RoutableEntry, state: RoutingState, nowMs: number): SkipReason | null {
  if (entry.status === 'disabled') return 'disabled';
  if (entry.status === 'invalid') return 'invalid';
  if ((state.cooldownUntil.get(entry.id) ?? 0) > nowMs) return 'cooling_down';
  if (state.quotaExhausted.has(entry.id)) return 'quota_exhausted';
  return null;
}

/** Weighted shuffle without replacement: each pick takes an entry with probability weight / remaining weight. */
function weightedShuffle<E extends RoutableEntry>(group: E[], random: () => number): E[] {
  const pool = [...group];
  const out: E[] = [];
  while (pool.length) {
    const weights = pool.map((e) => Math.max(0, e.weight));
    const total = weights.reduce((a, b) => a + b, 0);
    let index = 0;
    if (total > 0) {
      let point = random() * total;
      index = weights.findIndex((w) => (point -= w) < 0);
      if (index < 0) index = weights.findIndex((w) => w > 0); // guards a random() that returns 1
    }
    out.push(pool.splice(index, 1)[0]);
  }
  return out;
}

function leastUsedFirst<E extends RoutableEntry>(group: E[], state: RoutingState, random: () => number): E[] {
  // Random tie-break so that nodes with no history yet do not all pile onto the same entry.
  const keyed = group.map((entry) => ({ entry, used: state.leastUsed.get(entry.id) ?? 0, tie: random() }));
  keyed.sort((a, b) => a.used - b.used || a.tie - b.tie);
  return keyed.map((k) => k.entry);
}

function orderGroup<E extends RoutableEntry>(group: E[], state: RoutingState, req: OrderRequest, random: () => number) {
  if (group.length < 2) return { entries: group, how: '' };
  const strategy = req.strategy ?? 'auto';
  const weightsDiffer = group.some((e) => e.weight !== group[0].weight);
  if (strategy === 'weighted' || (strategy === 'auto' && weightsDiffer)) {
    return { entries: weightedShuffle(group, random), how: 'weighted draw' };
  }
  return { entries: leastUsedFirst(group, state, random), how: 'least used' };
}

/** 0: the caller's team's own pool, 1: the shared pool (a fallback for a team key, the only pool otherwise). */
const poolRank = (entry: RoutableEntry) => (entry.teamId ? 0 : 1);

function poolExclusion(entry: RoutableEntry, team: PoolRequest | null | undefined): PoolExclusion | null {
  if (entry.teamId) return entry.teamId === team?.id ? null : 'other_team_pool';
  return team?.ownPoolOnly ? 'team_own_pool_only' : null;
}

function describe(entry: RoutableEntry, group: RoutableEntry[], how: string, steered: boolean, team: PoolRequest | null | undefined): string {
  const parts = [`${entry.tier} tier`, `priority ${entry.priority}`];
  if (team) parts.unshift(entry.teamId ? "the team's own pool" : 'shared pool (fallback after the team\'s own)');
  if (group.length > 1) {
    const total = group.reduce((sum, e) => sum + Math.max(0, e.weight), 0);
    parts.push(`weight ${entry.weight} of ${total}`, how);
  }
  if (steered) parts.push('upstream reported no capacity left: tried last');
  return parts.join(', ');
}

/**
 * Candidates for one request in the order to try them: only entries of the service and the caller's
 * environment (a kw_test_ key reaches only `test` entries); disabled, invalid, cooling-down and out-of-quota
 * entries are skipped with their reason. Order: free tier before paid, then priority (lower first), then
 * weight / least used among equals. Entries whose upstream said they are out of capacity come last.
 * Team pools: a key's team's own entries come before the shared pool (whatever their tier or priority), which is the
 * fallback unless the team keeps to its own pool; another team's entries are never candidates (`excluded`).
 */
export function orderCandidates<E extends RoutableEntry>(
  entries: readonly E[],
  state: RoutingState,
  nowMs: number,
  req: OrderRequest,
): OrderResult<E> {
  const random = req.random ?? Math.random;
  const skipped: OrderResult<E>['skipped'] = [];
  const excluded: OrderResult<E>['excluded'] = [];
  const usable: E[] = [];
  for (const entry of entries) {
    if (entry.service !== req.service || entry.environment !== req.environment) continue;
    const exclusion = poolExclusion(entry, req.team);
    if (exclusion) {
      excluded.push({ id: entry.id, reason: exclusion });
      continue;
    }
    const reason = skipReason(entry, state, nowMs);
    if (!reason) usable.push(entry);
    else skipped.push(reason === 'cooling_down' ? { id: entry.id, reason, until: state.cooldownUntil.get(entry.id) } : { id: entry.id, reason });
  }

  const isSteered = (e: E) => (state.steerAway.get(e.id) ?? 0) > nowMs;
  const groups = new Map<string, E[]>();
  for (const entry of usable) {
    const key = `${isSteered(entry) ? 1 : 0}|${poolRank(entry)}|${TIER_RANK[entry.tier]}|${entry.priority}`;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  const groupOrder = [...groups.keys()].sort((a, b) => {
    const [sa, oa, ta, pa] = a.split('|').map(Number);
    const [sb, ob, tb, pb] = b.split('|').map(Number);
    return sa - sb || oa - ob || ta - tb || pa - pb;
  });

  const ordered: E[] = [];
  const places: { group: E[]; how: string }[] = [];
  for (const key of groupOrder) {
    const group = groups.get(key)!;
    const { entries: inOrder, how } = orderGroup(group, state, req, random);
    for (const entry of inOrder) {
      ordered.push(entry);
      places.push({ group, how });
    }
  }
  return {
    ordered,
    skipped,
    excluded,
    // a method, not a getter: an object literal with an accessor gets a hidden class of its own on every call, in the
    // old generation, and that class holds the getter's closure, so each request's whole plan outlived every scavenge
    explain: () =>
      ordered.map((entry, i) => {
        const steered = isSteered(entry);
        return { entry, steered, why: describe(entry, places[i].group, places[i].how, steered, req.team) };
      }),
  };
}
