import type { SqlRunner } from '../store/db';
import { NO_ID, NO_NAME, UsageEventRow } from './event';
import { isErrorStatus, UsageSums } from './rollup';
import { columnArrays } from './pg-array';

/**
 * usage_hourly (migrations/004_usage_hourly.ts): usage_daily's dimensions per UTC hour, plus the status class and
 * the gateway-added latency. Kept by the usage writer in the batch's transaction, like usage_daily, so both always
 * equal an aggregate of the events written.
 */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '429', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** 429 (rate limited) is its own class: it is what a console watches for; every other status goes by its hundred. */
export function statusClass(status: number): StatusClass {
  if (status === 429) return '429';
  const hundred = Math.min(5, Math.max(1, Math.floor(status / 100)));
  return `${hundred}xx` as StatusClass;
}

export interface HourlyRollup extends UsageSums {
  hour: string; // ISO instant at the start of the UTC hour
  gateway_key_id: string;
  user_id: string;
  wallet_entry_id: string;
  service: string;
  model: string;
  status_class: StatusClass;
  /** the key's team at call time; NO_ID: organisation level */
  team_id: string;
  /** events that reached an upstream (have an upstream latency) */
  upstream_requests: number;
  /** Σ (latency − upstream latency) over those events: the time the gateway added, earlier failed attempts included */
  added_latency_ms_sum: number;
}

const KEY_COLUMNS = ['hour', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model', 'status_class', 'team_id'] as const;
const SUM_COLUMNS = [
  'requests',
  'errors',
  'prompt_tokens',
  'completion_tokens',
  'cost_micros',
  'latency_ms_sum',
  'upstream_requests',
  'added_latency_ms_sum',
] as const;
const COLUMNS = [...KEY_COLUMNS, ...SUM_COLUMNS];
const TYPES = ['timestamptz', 'uuid', 'uuid', 'uuid', 'text', 'text', 'text', 'uuid', ...SUM_COLUMNS.map(() => 'int8')];
const UPSERT_HOURLY = `insert into usage_hourly (${COLUMNS.join(', ')})
  select * from unnest(${TYPES.map((t) => `?::${t}[]`).join(', ')})
  on conflict (${KEY_COLUMNS.join(', ')}) do update set
  ${SUM_COLUMNS.map((c) => `${c} = usage_hourly.${c} + excluded.${c}`).join(',\n  ')}`;

/** One row per hourly key, sorted by key (one row per key for the upsert; the same lock order on every node). */
export function rollUpHourly(rows: readonly UsageEventRow[]): HourlyRollup[] {
  const byKey = new Map<string, HourlyRollup>();
  for (const r of rows) {
    const hour = `${r.ts.slice(0, 13)}:00:00.000Z`; // ts is toISOString(): UTC
    const gatewayKeyId = r.gateway_key_id?.toLowerCase() ?? NO_ID;
    const userId = r.user_id?.toLowerCase() ?? NO_ID;
    const walletEntryId = r.wallet_entry_id?.toLowerCase() ?? NO_ID;
    const service = r.service ?? NO_NAME;
    const model = r.model ?? NO_NAME;
    const cls = statusClass(r.status);
    const teamId = r.team_id?.toLowerCase() ?? NO_ID;
    const key = `${hour}\u0000${gatewayKeyId}\u0000${userId}\u0000${walletEntryId}\u0000${service}\u0000${model}\u0000${cls}\u0000${teamId}`;
    let sum = byKey.get(key);
    if (!sum) {
      sum = {
        hour,
        gateway_key_id: gatewayKeyId,
        user_id: userId,
        wallet_entry_id: walletEntryId,
        service,
        model,
        status_class: cls,
        team_id: teamId,
        requests: 0,
        errors: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_micros: 0,
        latency_ms_sum: 0,
        upstream_requests: 0,
        added_latency_ms_sum: 0,
      };
      byKey.set(key, sum);
    }
    sum.requests += 1;
    if (isErrorStatus(r.status)) sum.errors += 1;
    sum.prompt_tokens += r.prompt_tokens;
    sum.completion_tokens += r.completion_tokens;
    sum.cost_micros += r.cost_micros;
    sum.latency_ms_sum += r.latency_ms;
    if (r.upstream_latency_ms !== null) {
      sum.upstream_requests += 1;
      sum.added_latency_ms_sum += Math.max(0, r.latency_ms - r.upstream_latency_ms);
    }
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** Adds a batch of written events to usage_hourly; call it in the transaction that inserts them. Returns the hourly rows. */
export async function upsertHourly(trx: SqlRunner, rows: readonly UsageEventRow[]): Promise<HourlyRollup[]> {
  if (!rows.length) return [];
  const hourly = rollUpHourly(rows);
  await trx.raw(UPSERT_HOURLY, columnArrays(hourly, COLUMNS));
  return hourly;
}
