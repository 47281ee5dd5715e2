import { randomUUID } from 'node:crypto';

/**
 * One usage event per gateway request (/v1/*, /proxy), refused ones included. Mirrors the usage_events
 * table (migrations/001_initial.ts); the emitting request path fills it in, UsageWriter stores it.
 */
export type UsageSurface = 'chat' | 'messages' | 'embeddings' | 'responses' | 'count_tokens' | 'completions' | 'moderations' | 'images' | 'audio' | 'speech' | 'models' | 'proxy';

export interface UsageEvent {
  /**
   * Unique per event, minted when it is recorded (the writer fills it in when absent): the key that makes a replay
   * from the spool or a second claim from the Redis stream insert nothing and count nothing twice.
   */
  id?: string;
  /** when the request arrived, epoch milliseconds */
  ts: number;
  requestId: string;
  gatewayKeyId: string | null;
  userId: string | null;
  walletEntryId: string | null;
  surface: UsageSurface;
  service: string | null;
  model: string | null;
  /** the status the client got (401/403/402/429 for refusals) */
  status: number;
  /** AppError code for a refused or failed request, null on success */
  errorCode: string | null;
  latencyMs: number;
  upstreamLatencyMs: number | null;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  /** tokens or cost counted locally (e.g. a stream the client aborted), not reported by the provider */
  estimated: boolean;
  stream: boolean;
  attempts: number;
  /** the price table version the cost was worked out with (null: nothing was priced) */
  priceVersion?: number | null;
  /** the key's team at call time (null or absent: organisation level, as every event before teams) */
  teamId?: string | null;
}

/** usage_daily stores "none" as these sentinels, because they are part of its primary key. */
export const NO_ID = '00000000-0000-0000-0000-000000000000';
export const NO_NAME = '';

/** A usage_events row as the batch insert takes it (see batch-write.ts). Integers rounded: the columns are int. */
export interface UsageEventRow {
  event_id: string;
  ts: string;
  request_id: string;
  gateway_key_id: string | null;
  user_id: string | null;
  wallet_entry_id: string | null;
  surface: string;
  service: string | null;
  model: string | null;
  status: number;
  error_code: string | null;
  latency_ms: number;
  upstream_latency_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micros: number;
  estimated: boolean;
  stream: boolean;
  attempts: number;
  price_version: number | null;
  team_id: string | null;
}

export function toEventRow(e: UsageEvent): UsageEventRow {
  return {
    // UsageWriter.record mints the id; an event built elsewhere (tools, tests) gets one here
    event_id: e.id ?? randomUUID(),
    ts: new Date(e.ts).toISOString(),
    request_id: e.requestId,
    gateway_key_id: e.gatewayKeyId,
    user_id: e.userId,
    wallet_entry_id: e.walletEntryId,
    surface: e.surface,
    service: e.service,
    model: e.model,
    status: Math.round(e.status),
    error_code: e.errorCode,
    latency_ms: Math.round(e.latencyMs),
    upstream_latency_ms: e.upstreamLatencyMs === null ? null : Math.round(e.upstreamLatencyMs),
    prompt_tokens: Math.round(e.promptTokens),
    completion_tokens: Math.round(e.completionTokens),
    cost_micros: Math.round(e.costMicros),
    estimated: e.estimated,
    stream: e.stream,
    attempts: Math.round(e.attempts),
    price_version: e.priceVersion ?? null,
    team_id: e.teamId ?? null,
  };
}

export const USAGE_EVENT_COLUMNS = [
  'event_id',
  'ts',
  'request_id',
  'gateway_key_id',
  'user_id',
  'wallet_entry_id',
  'surface',
  'service',
  'model',
  'status',
  'error_code',
  'latency_ms',
  'upstream_latency_ms',
  'prompt_tokens',
  'completion_tokens',
  'cost_micros',
  'estimated',
  'stream',
  'attempts',
  'price_version',
  'team_id',
] as const satisfies readonly (keyof UsageEventRow)[];
