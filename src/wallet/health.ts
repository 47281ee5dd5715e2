import type { Deps } from '../deps';
import { NO_ID } from '../usage/event';
import { floorHour } from '../usage/range';
import { peekQuotaUse } from '../routing/entry-quota';
import { quotaPeriod } from '../routing/quota';
import { parseMasterKeys } from './crypto';
import { presentEntry } from './presenter';
import type { EntryStatus, WalletEntry } from './repository';

export type WalletHealthDeps = Pick<Deps, 'db' | 'kv' | 'clock' | 'logger' | 'config' | 'wallet' | 'router'>;

const DAY_MS = 86_400_000;
const STATUSES: EntryStatus[] = ['active', 'disabled', 'invalid'];

/** Counter units used this period per entry; nulls when the counter store cannot be read (the report still answers). */
async function quotaUse(deps: WalletHealthDeps, entries: WalletEntry[], nowMs: number): Promise<(number | null)[]> {
  try {
    return await peekQuotaUse(deps.kv, entries, nowMs);
  } catch (err) {
    deps.logger.warn({ err }, 'wallet health: could not read the quota counters');
    return entries.map(() => null);
  }
}

/**
 * Requests of the last 24 hours by the tier of the wallet entry that served them (its tier now), from usage_hourly.
 * `none`: no entry (refused before routing, or no upstream); `deleted`: the entry no longer exists.
 */
async function tierShare(deps: WalletHealthDeps, nowMs: number) {
  const rows = (await deps.db('usage_hourly as h')
    .leftJoin('wallet_entries as w', 'w.id', 'h.wallet_entry_id')
    .where('h.hour', '>=', floorHour(nowMs - DAY_MS))
    .select(deps.db.raw(`case when h.wallet_entry_id = '${NO_ID}' then 'none' else coalesce(w.tier, 'deleted') end as tier`))
    .sum({ requests: 'h.requests' })
    .groupByRaw('1')) as { tier: string; requests: number | string }[];
  const counts: Record<'free' | 'paid' | 'none' | 'deleted', number> = { free: 0, paid: 0, none: 0, deleted: 0 };
  for (const r of rows) counts[r.tier as keyof typeof counts] = Number(r.requests);
  const routed = counts.free + counts.paid;
  return { requests: counts, freeShare: routed ? counts.free / routed : null };
}

/**
 * The wallet at a glance for the console: every entry (presented, never a secret) with its quota used this period
 * and any cooldown left; counts by status; the free/paid split of the last day's requests; entries per master key
 * version (rewrap progress).
 */
export async function walletHealth(deps: WalletHealthDeps) {
  const nowMs = deps.clock.now();
  const entries = await deps.wallet.list();
  const ids = entries.map((e) => e.id);
  const [snapshot, used, tiers] = await Promise.all([deps.router.cooldowns(ids), quotaUse(deps, entries, nowMs), tierShare(deps, nowMs)]);
  const ring = parseMasterKeys(deps.config.masterKeys);

  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<EntryStatus, number>;
  const byVersion = new Map<number, number>(ring.versions.map((v) => [v, 0]));
  let coolingDown = 0;
  const presented = entries.map((e, i) => {
    byStatus[e.status] += 1;
    byVersion.set(e.keyVersion, (byVersion.get(e.keyVersion) ?? 0) + 1);
    const until = snapshot.cooldownUntil.get(e.id);
    const steer = snapshot.steerAway.get(e.id);
    if (until !== undefined) coolingDown += 1;
    const quota = e.quota && used[i] !== null ? { used: used[i]!, resetsAt: new Date(quotaPeriodEnd(e, nowMs)) } : undefined;
    return {
      ...presentEntry(e, quota),
      cooldown: until === undefined ? null : { until: new Date(until).toISOString(), secondsLeft: Math.ceil((until - nowMs) / 1000) },
      steeredAwayUntil: steer === undefined ? null : new Date(steer).toISOString(),
    };
  });
  return {
    at: new Date(nowMs).toISOString(),
    counts: { total: entries.length, byStatus, coolingDown },
    last24h: tiers,
    keyVersions: {
      current: ring.current,
      configured: ring.versions,
      entries: [...byVersion.entries()].sort(([a], [b]) => b - a).map(([version, count]) => ({ version, entries: count })),
      toRewrap: entries.filter((e) => e.keyVersion !== ring.current).length,
    },
    entries: presented,
  };
}

function quotaPeriodEnd(e: WalletEntry, nowMs: number): number {
  return quotaPeriod(e.quota!.period, nowMs).end;
}
