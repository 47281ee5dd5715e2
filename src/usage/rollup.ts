import { NO_ID, NO_NAME, UsageEventRow } from './event';

/** The additive totals of usage_daily (what analytics sums up). */
export interface UsageSums {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micros: number;
  latency_ms_sum: number;
}

/** One usage_daily row: the day (UTC) × key × user × wallet entry × service × model × team totals. */
export interface DailyRollup extends UsageSums {
  day: string; // YYYY-MM-DD
  gateway_key_id: string;
  user_id: string;
  wallet_entry_id: string;
  service: string;
  model: string;
  /** the key's team at call time; NO_ID: organisation level */
  team_id: string;
}

export const ROLLUP_KEY_COLUMNS = ['day', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model', 'team_id'] as const;
export const ROLLUP_SUM_COLUMNS = [
  'requests',
  'errors',
  'prompt_tokens',
  'completion_tokens',
  'cost_micros',
  'latency_ms_sum',
] as const;

/** A request counts as an error when the client got a 4xx or 5xx, refusals included. */
export const isErrorStatus = (status: number) => status >= 400;

/**
 * Sums a batch of events into one row per rollup key, sorted by key. One row per key matters: an
 * `insert … on conflict do update` may not touch the same row twice. The sort gives every node the same
 * lock order on usage_daily, so concurrent batches from several nodes queue instead of deadlocking.
 * Ids are lower-cased because PostgreSQL compares uuids case-insensitively.
 */
export function rollUpEvents(rows: readonly UsageEventRow[]): DailyRollup[] {
  const byKey = new Map<string, DailyRollup>();
  for (const r of rows) {
    const day = r.ts.slice(0, 10);
    const gatewayKeyId = r.gateway_key_id?.toLowerCase() ?? NO_ID;
    const userId = r.user_id?.toLowerCase() ?? NO_ID;
    const walletEntryId = r.wallet_entry_id?.toLowerCase() ?? NO_ID;
    const service = r.service ?? NO_NAME;
    const model = r.model ?? NO_NAME;
    const teamId = r.team_id?.toLowerCase() ?? NO_ID;
    const key = `${day}\u0000${gatewayKeyId}\u0000${userId}\u0000${walletEntryId}\u0000${service}\u0000${model}\u0000${teamId}`;
    let sum = byKey.get(key);
    if (!sum) {
      sum = {
        day,
        gateway_key_id: gatewayKeyId,
        user_id: userId,
        wallet_entry_id: walletEntryId,
        service,
        model,
        team_id: teamId,
        requests: 0,
        errors: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_micros: 0,
        latency_ms_sum: 0,
      };
      byKey.set(key, sum);
    }
    sum.requests += 1;
    if (isErrorStatus(r.status)) sum.errors += 1;
    sum.prompt_tokens += r.prompt_tokens;
    sum.completion_tokens += r.completion_tokens;
    sum.cost_micros += r.cost_micros;
    sum.latency_ms_sum += r.latency_ms;
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}
