import { Aggregator, Counter, Gauge, Histogram, Metric, Registry, collectDefaultMetrics } from 'prom-client';
import { eventLoopDelayMetric } from './event-loop';

/**
 * Prometheus metrics for one gateway process. Every call builds its own Registry (never prom-client's
 * global one), so a test can build many apps side by side. The metric names and label names below are a
 * contract: monitoring/ (alerts, Grafana) and the rest of the code are written against them.
 *
 * No label carries a user or a gateway key: per-user figures belong to the analytics API (a series per user is
 * a cardinality hazard, and a directory of who spends what for anyone who can scrape).
 *
 * Label values are guarded on write: empty becomes 'none', a value outside a label's known set becomes
 * 'other', and an open-ended label (model, entry_id, route…) keeps at most
 * MAX_VALUES_PER_LABEL distinct values per metric, later ones becoming 'other'. A client that invents
 * model names, or a scanner hitting random URLs, cannot grow the registry without bound.
 *
 * Hot path: `metric.labels(a, b).inc()` and `metric.inc({ a, b })` both work and both are guarded.
 * Positional `.labels(...)` children are cached per label set here (prom-client 15 itself allocates one per
 * call), so prefer it over building a label object per request.
 * Histogram `startTimer(labels)` is guarded; labels passed to the returned `end(labels)` are not, so pass
 * them all up front.
 */

export const MAX_VALUES_PER_LABEL = 500;
/**
 * The `team` label (a team's slug; 'none' for keys in no team) is the one per-tenant label allowed: teams are few and
 * created by admins. Past this many distinct teams per process, later ones count as 'other'.
 */
export const MAX_TEAM_LABELS = 100;
const MAX_LABEL_LENGTH = 128;

export const SURFACES = ['chat', 'messages', 'embeddings', 'responses', 'count_tokens', 'completions', 'moderations', 'images', 'audio', 'speech', 'models', 'proxy'] as const;
export const UPSTREAM_OUTCOMES = [
  'ok',
  'rate_limited',
  'server_error',
  'timeout',
  'connection_error',
  'unauthorized',
  'client_error',
] as const;
export const TOKEN_TYPES = ['prompt', 'completion'] as const;
export const STATUS_CLASS_LABELS = ['1xx', '2xx', '3xx', '4xx', '429', '5xx'] as const;
export const RATE_LIMIT_SCOPES = ['key', 'user', 'login'] as const;
export const RATE_LIMIT_KINDS = ['rpm', 'rph', 'rpd', 'tpm', 'login'] as const;
export const BUDGET_SCOPES = ['key', 'user'] as const;
export const ALERT_KINDS = ['budget.threshold', 'wallet.entry_invalid', 'wallet.quota_threshold', 'wallet.free_tier_exhausted'] as const;
export const ALERT_SCOPES = ['key', 'user', 'member', 'team', 'org', 'wallet_entry'] as const;
export const WEBHOOK_OUTCOMES = ['succeeded', 'retry', 'failed'] as const;
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Buckets for whole requests through a proxy: sub-millisecond management calls up to long generations. */
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
/** Upstream calls include full LLM generations and streams, which run for minutes. */
const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

/**
 * Normalises one label value: missing or blank → 'none'; outside `known` → 'other'; overlong values are
 * cut, and control characters dropped, so a label never carries a request body or breaks the exposition.
 * Idempotent ('none' and 'other' map to themselves): prom-client's `.labels()` child calls the guarded
 * `inc`/`observe` again with the already-guarded values.
 */
export function boundedLabel(value: string | number | undefined | null, known?: ReadonlySet<string>): string {
  if (value === undefined || value === null) return 'none';
  let text = typeof value === 'string' ? value : String(value);
  if (text.trim() === '') return 'none';
  if (known) return known.has(text) || text === 'none' ? text : 'other';
  if (/[\u0000-\u001f\u007f]/.test(text)) text = text.replace(/[\u0000-\u001f\u007f]/g, '');
  return text.length > MAX_LABEL_LENGTH ? text.slice(0, MAX_LABEL_LENGTH) : text;
}

type LabelObject = Record<string, string | number | undefined | null>;
type LabelDomains = Readonly<Record<string, readonly string[]>>;
const isLabelObject = (v: unknown): v is LabelObject => typeof v === 'object' && v !== null;

/** The write-side guard of one metric: known sets for enumerated labels, a distinct-value cap for the rest. */
export class LabelGuard {
  private readonly known = new Map<string, ReadonlySet<string>>();
  private readonly seen = new Map<string, Set<string>>();

  constructor(
    readonly labelNames: readonly string[],
    domains: LabelDomains = {},
    private readonly limit = MAX_VALUES_PER_LABEL,
  ) {
    for (const name of labelNames) {
      const domain = domains[name];
      if (domain) this.known.set(name, new Set(domain));
      else this.seen.set(name, new Set());
    }
  }

  /** `register` false is for removals: an unseen value is passed through instead of claiming a slot. */
  value(name: string, raw: string | number | undefined | null, register = true): string {
    const known = this.known.get(name);
    if (known) return boundedLabel(raw, known);
    const value = boundedLabel(raw);
    const seen = this.seen.get(name);
    if (!seen || seen.has(value)) return value;
    if (!register) return value;
    if (seen.size >= this.limit) return 'other';
    seen.add(value);
    return value;
  }

  object(labels: LabelObject, register = true): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of this.labelNames) out[name] = this.value(name, labels[name], register);
    return out;
  }

  /** Label values as prom-client accepts them: one label object, or positional values in label order. */
  fromArgs(args: readonly unknown[], register = true): Record<string, string> {
    if (args.length === 1 && isLabelObject(args[0])) return this.object(args[0], register);
    const out: Record<string, string> = {};
    for (let i = 0; i < this.labelNames.length; i++) {
      const name = this.labelNames[i];
      out[name] = this.value(name, args[i] as string | number | undefined | null, register);
    }
    return out;
  }
}

/** Label sets a child of `.labels()` is built from; the child hands them back to the guarded write methods. */
const guardedSets = new WeakSet<object>();
/** Children cached per metric; beyond this, label sets are still guarded but no longer cached. */
const MAX_CACHED_CHILDREN = 2_000;

/** A cache key for positional label values; null for the label-object form, which is not cached. */
function childKey(args: readonly unknown[]): string | null {
  if (args.length === 1 && isLabelObject(args[0])) return null;
  let key = '';
  for (let i = 0; i < args.length; i++) key += i === 0 ? String(args[i] ?? '') : `\u0001${String(args[i] ?? '')}`;
  return key;
}

/**
 * prom-client has no hook for label values, so the write methods of the instance are wrapped; the
 * metric keeps its prom-client type and every caller gets the guard without knowing about it.
 * `.labels(a, b)` children are cached per label set (prom-client 15 allocates one per call), so a hot path
 * that asks for the same child on every request costs one map lookup.
 */
function guardLabelWrites<M extends object>(metric: M, guard: LabelGuard, methods: readonly string[]): M {
  const target = metric as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of methods) {
    const original = target[method].bind(metric);
    if (method === 'labels') {
      const children = new Map<string, unknown>();
      target[method] = (...args) => {
        const key = childKey(args);
        const cached = key === null ? undefined : children.get(key);
        if (cached) return cached;
        const labels = guard.fromArgs(args);
        guardedSets.add(labels);
        const child = original(labels);
        if (key !== null && children.size < MAX_CACHED_CHILDREN) children.set(key, child);
        return child;
      };
    } else if (method === 'remove') target[method] = (...args) => original(guard.fromArgs(args, false));
    else {
      // Every write method takes at most (labels, value): no rest arguments on the hot path.
      target[method] = (first?: unknown, second?: unknown) =>
        isLabelObject(first) && !guardedSets.has(first) ? original(guard.object(first), second) : original(first, second);
    }
  }
  return metric;
}

const COUNTER_WRITES = ['labels', 'inc', 'remove'] as const;
const GAUGE_WRITES = ['labels', 'inc', 'dec', 'set', 'setToCurrentTime', 'startTimer', 'remove'] as const;
const HISTOGRAM_WRITES = ['labels', 'observe', 'startTimer', 'remove'] as const;

export interface MetricsOptions {
  /** Process and Node.js runtime metrics (CPU, memory, event loop, GC, 1 ms event-loop delay histogram). Default true. */
  collectDefault?: boolean;
}

export function createMetrics(opts: MetricsOptions = {}) {
  const registry = new Registry();
  if (opts.collectDefault !== false) {
    collectDefaultMetrics({ register: registry });
    registry.registerMetric(eventLoopDelayMetric() as unknown as Metric);
  }

  function counter<T extends string>(name: string, help: string, labelNames: readonly T[], domains?: LabelDomains) {
    const metric = new Counter<T>({ name, help, labelNames, registers: [registry] });
    return labelNames.length ? guardLabelWrites(metric, new LabelGuard(labelNames, domains), COUNTER_WRITES) : metric;
  }
  /** a counter with a `team` label, bounded to MAX_TEAM_LABELS values */
  function teamCounter<T extends string>(name: string, help: string, labelNames: readonly T[], domains?: LabelDomains) {
    const metric = new Counter<T>({ name, help, labelNames, registers: [registry] });
    return guardLabelWrites(metric, new LabelGuard(labelNames, domains, MAX_TEAM_LABELS), COUNTER_WRITES);
  }
  /**
   * `aggregator`: how the cluster primary (WORKERS > 1, src/cluster/metrics.ts) combines the workers' values of this
   * gauge: 'sum' by default; 'min' / 'max' where every worker observes the same shared state.
   */
  function gauge<T extends string>(name: string, help: string, labelNames: readonly T[], aggregator: Aggregator = 'sum') {
    const metric = new Gauge<T>({ name, help, labelNames, registers: [registry], aggregator });
    return labelNames.length ? guardLabelWrites(metric, new LabelGuard(labelNames), GAUGE_WRITES) : metric;
  }
  function histogram<T extends string>(
    name: string,
    help: string,
    labelNames: readonly T[],
    buckets: number[],
    domains?: LabelDomains,
  ) {
    const metric = new Histogram<T>({ name, help, labelNames, buckets, registers: [registry] });
    return guardLabelWrites(metric, new LabelGuard(labelNames, domains), HISTOGRAM_WRITES);
  }

  const method = { method: HTTP_METHODS };
  return {
    registry,
    /**
     * The text /metrics serves: this registry, or, in a cluster worker, every process's metrics aggregated by the
     * primary (src/cluster/worker.ts replaces it).
     */
    scrape: (): Promise<string> => registry.metrics(),
    /** route is the matched route pattern (`/api-keys/:id`), never the raw URL; 'unmatched' for 404s. */
    httpRequests: counter(
      'keywallet_http_requests_total',
      'HTTP requests handled, by matched route pattern, method and status code.',
      ['route', 'method', 'status'],
      method,
    ),
    httpDuration: histogram(
      'keywallet_http_request_duration_seconds',
      'Time from request received to response finished, by matched route pattern and method.',
      ['route', 'method'],
      HTTP_BUCKETS,
      method,
    ),
    gatewayRequests: counter(
      'keywallet_gateway_requests_total',
      'Gateway (/v1/*, /proxy) requests by API surface, upstream service and final status code.',
      ['surface', 'service', 'status'],
      { surface: SURFACES },
    ),
    upstreamDuration: histogram(
      'keywallet_upstream_duration_seconds',
      'Duration of one upstream attempt, to the last byte for streams.',
      ['service'],
      UPSTREAM_BUCKETS,
    ),
    upstreamAttempts: counter(
      'keywallet_upstream_attempts_total',
      'Upstream attempts by service and outcome; one gateway request may make several.',
      ['service', 'outcome'],
      { outcome: UPSTREAM_OUTCOMES },
    ),
    fallbacks: counter(
      'keywallet_fallbacks_total',
      'Times routing moved on to the next candidate, by service left and reason.',
      ['service', 'reason'],
    ),
    tokens: counter('keywallet_tokens_total', 'LLM tokens by service, model and type.', ['service', 'model', 'type'], {
      type: TOKEN_TYPES,
    }),
    costUsd: counter('keywallet_cost_usd_total', 'Cost charged in US dollars, by service and model.', [
      'service',
      'model',
    ]),
    teamRequests: teamCounter(
      'keywallet_team_requests_total',
      "Gateway requests by the key's team (slug; none: no team) and status class (429 apart from 4xx).",
      ['team', 'status_class'],
      { status_class: STATUS_CLASS_LABELS },
    ),
    teamTokens: teamCounter('keywallet_team_tokens_total', "LLM tokens by the key's team and type.", ['team', 'type'], { type: TOKEN_TYPES }),
    teamCostUsd: teamCounter('keywallet_team_cost_usd_total', "Cost charged in US dollars, by the key's team.", ['team']),
    rateLimited: counter(
      'keywallet_rate_limited_total',
      'Requests refused with 429 by a gateway rate limit, by scope and limit.',
      ['scope', 'limit'],
      { scope: RATE_LIMIT_SCOPES, limit: RATE_LIMIT_KINDS },
    ),
    budgetRefused: counter(
      'keywallet_budget_refused_total',
      'Requests refused with 402 because credits or budget ran out, by scope.',
      ['scope'],
      { scope: BUDGET_SCOPES },
    ),
    walletEntryUp: gauge(
      'keywallet_wallet_entry_up',
      'Wallet entry usable for routing: 1 active, 0 invalid, disabled or cooling down.',
      ['entry_id', 'service'],
      'min', // workers: down if any of them saw it down
    ),
    walletQuotaRemaining: gauge(
      'keywallet_wallet_entry_quota_remaining_ratio',
      'Share of the wallet entry quota left this period, 0..1 (entries with a quota only).',
      ['entry_id', 'service'],
      'min', // workers: the quota is shared, the lowest reading is the latest within a period
    ),
    usageQueueDepth: gauge('keywallet_usage_queue_depth', 'Usage events waiting to be written.', []),
    usageBacklog: gauge(
      'keywallet_usage_backlog_events',
      'Usage events held durably (spool file in DATA_DIR, or the Redis stream) and not yet in PostgreSQL, by store.',
      ['store'],
    ),
    usageBacklogLimit: gauge(
      'keywallet_usage_backlog_limit_events',
      'The most usage events the spool file or the Redis stream holds; beyond it new events are dropped and counted.',
      ['store'],
    ),
    usageWritten: counter('keywallet_usage_events_written_total', 'Usage events written to the database.', []),
    usageDropped: counter(
      'keywallet_usage_events_dropped_total',
      'Usage events lost (queue full or write failed for good).',
      [],
    ),
    /** threshold is a percentage from a short configured list; never a user, key or team id */
    alertsFired: counter(
      'keywallet_alerts_fired_total',
      'Alerts fired (once per period per threshold across all nodes), by kind, budget scope and threshold percent.',
      ['kind', 'scope', 'threshold'],
      { kind: ALERT_KINDS, scope: ALERT_SCOPES },
    ),
    alertsDropped: counter('keywallet_alerts_dropped_total', 'Alert samples dropped because the alert queue was full.', []),
    webhookDeliveries: counter(
      'keywallet_webhook_delivery_attempts_total',
      'Webhook delivery attempts by outcome (retry: another attempt is scheduled; failed: given up).',
      ['outcome'],
      { outcome: WEBHOOK_OUTCOMES },
    ),
    auditRows: gauge(
      'keywallet_audit_rows',
      'Rows in the audit hash chain at the last published checkpoint; it never goes down unless rows were removed.',
      [],
      'max', // workers: only worker 1 publishes checkpoints
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
