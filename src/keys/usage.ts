import { AppError } from '../http/errors';
import { findAccessibleKey, KeyAccess, KeyServiceDeps } from './service';

const DAY_MS = 86_400_000;
const MAX_DAYS = 366;
const DEFAULT_DAYS = 30;

export interface KeyUsageRange {
  from?: string; // YYYY-MM-DD, inclusive
  to?: string; // YYYY-MM-DD, inclusive
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const num = (v: unknown) => Number(v ?? 0);

/**
 * Daily history of one key from the usage rollups (usage_daily, written by the usage pipeline):
 * requests, errors, tokens and cost per UTC day, oldest first, plus the totals. Days without traffic are omitted.
 */
export async function gatewayKeyUsage(deps: KeyServiceDeps, access: KeyAccess, id: string, range: KeyUsageRange) {
  const key = await findAccessibleKey(deps.db, access, id);
  const to = range.to ?? isoDay(deps.clock.now());
  const from = range.from ?? isoDay(Date.parse(to) - (DEFAULT_DAYS - 1) * DAY_MS);
  const span = (Date.parse(to) - Date.parse(from)) / DAY_MS;
  if (span < 0) throw new AppError('invalid_request', '`from` must not be after `to`', { param: 'from' });
  if (span >= MAX_DAYS) throw new AppError('invalid_request', `At most ${MAX_DAYS} days at a time`, { param: 'from' });
  const rows = await deps.db('usage_daily')
    .where({ gateway_key_id: key.id })
    .whereBetween('day', [from, to])
    .groupBy('day')
    .orderBy('day')
    .select(
      deps.db.raw(`to_char(day, 'YYYY-MM-DD') as day`),
      deps.db.raw('sum(requests) as requests'),
      deps.db.raw('sum(errors) as errors'),
      deps.db.raw('sum(prompt_tokens) as prompt_tokens'),
      deps.db.raw('sum(completion_tokens) as completion_tokens'),
      deps.db.raw('sum(cost_micros) as cost_micros'),
      deps.db.raw('sum(latency_ms_sum) as latency_ms_sum'),
    );
  const days = rows.map((r: Record<string, unknown>) => {
    const requests = num(r.requests);
    const costMicros = num(r.cost_micros);
    return {
      day: String(r.day),
      requests,
      errors: num(r.errors),
      promptTokens: num(r.prompt_tokens),
      completionTokens: num(r.completion_tokens),
      costMicros,
      cost: costMicros / 1_000_000,
      avgLatencyMs: requests ? Math.round(num(r.latency_ms_sum) / requests) : null,
    };
  });
  const sum = (field: 'requests' | 'errors' | 'promptTokens' | 'completionTokens' | 'costMicros') =>
    days.reduce((acc, d) => acc + d[field], 0);
  const totalCostMicros = sum('costMicros');
  return {
    keyId: key.id,
    from,
    to,
    days,
    totals: {
      requests: sum('requests'),
      errors: sum('errors'),
      promptTokens: sum('promptTokens'),
      completionTokens: sum('completionTokens'),
      costMicros: totalCostMicros,
      cost: totalCostMicros / 1_000_000,
    },
  };
}
