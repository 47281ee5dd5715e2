import { register as globalRegistry } from 'prom-client';
import { boundedLabel, createMetrics, LabelGuard, MAX_VALUES_PER_LABEL } from '../../src/metrics/metrics';

const CONTRACT_NAMES = [
  'keywallet_http_requests_total',
  'keywallet_http_request_duration_seconds',
  'keywallet_gateway_requests_total',
  'keywallet_upstream_duration_seconds',
  'keywallet_upstream_attempts_total',
  'keywallet_fallbacks_total',
  'keywallet_tokens_total',
  'keywallet_cost_usd_total',
  'keywallet_rate_limited_total',
  'keywallet_budget_refused_total',
  'keywallet_wallet_entry_up',
  'keywallet_wallet_entry_quota_remaining_ratio',
  'keywallet_usage_queue_depth',
  'keywallet_usage_backlog_events',
  'keywallet_usage_backlog_limit_events',
  'keywallet_usage_events_written_total',
  'keywallet_usage_events_dropped_total',
  'keywallet_audit_rows',
  'keywallet_alerts_fired_total',
  'keywallet_alerts_dropped_total',
  'keywallet_webhook_delivery_attempts_total',
  // per team (the one bounded per-tenant label: a slug, 'none', at most 100 then 'other')
  'keywallet_team_requests_total',
  'keywallet_team_tokens_total',
  'keywallet_team_cost_usd_total',
];

async function seriesOf(metrics: ReturnType<typeof createMetrics>, name: string) {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return metric.values;
}

describe('createMetrics', () => {
  it('registers every contract metric under its exact name', async () => {
    const metrics = createMetrics({ collectDefault: false });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.sort()).toEqual([...CONTRACT_NAMES].sort());
  });

  it('gives each call its own registry', async () => {
    const a = createMetrics({ collectDefault: false });
    const b = createMetrics({ collectDefault: false });
    expect(a.registry).not.toBe(b.registry);
    a.httpRequests.labels('/health', 'GET', '200').inc();
    expect(await a.registry.metrics()).toContain('keywallet_http_requests_total{route="/health",method="GET",status="200"} 1');
    expect(await b.registry.metrics()).not.toContain('route="/health"');
    expect(await globalRegistry.metrics()).not.toContain('keywallet_');
  });

  it('collects process and Node.js metrics unless told not to', async () => {
    const withDefaults = await createMetrics().registry.metrics();
    expect(withDefaults).toContain('process_cpu_user_seconds_total');
    expect(withDefaults).toContain('nodejs_heap_size_used_bytes');
    expect(await createMetrics({ collectDefault: false }).registry.metrics()).not.toContain('process_cpu');
  });

  it('exposes the written values in the Prometheus text format', async () => {
    const m = createMetrics({ collectDefault: false });
    m.httpDuration.labels('/api-keys/:id', 'GET').observe(0.3);
    m.gatewayRequests.labels('chat', 'openai', '200').inc();
    m.upstreamDuration.labels('anthropic').observe(12);
    m.upstreamAttempts.inc({ service: 'openai', outcome: 'rate_limited' });
    m.fallbacks.labels('openai', 'rate_limited').inc();
    m.tokens.labels('openai', 'gpt-4o-mini', 'prompt').inc(120);
    m.costUsd.labels('openai', 'gpt-4o-mini').inc(0.0042);
    m.rateLimited.labels('key', 'rpm').inc();
    m.budgetRefused.labels('user').inc();
    m.walletEntryUp.labels('we_1', 'openai').set(1);
    m.walletQuotaRemaining.set({ entry_id: 'we_1', service: 'openai' }, 0.25);
    m.usageQueueDepth.set(7);
    m.usageWritten.inc(3);
    m.usageDropped.inc();
    m.auditRows.set(42);
    const text = await m.registry.metrics();
    expect(text).toContain('keywallet_http_request_duration_seconds_bucket{le="0.5",route="/api-keys/:id",method="GET"} 1');
    expect(text).toContain('keywallet_upstream_duration_seconds_bucket{le="30",service="anthropic"} 1');
    expect(text).toContain('keywallet_upstream_attempts_total{service="openai",outcome="rate_limited"} 1');
    expect(text).toContain('keywallet_tokens_total{service="openai",model="gpt-4o-mini",type="prompt"} 120');
    expect(text).toContain('keywallet_cost_usd_total{service="openai",model="gpt-4o-mini"} 0.0042');
    expect(text).toContain('keywallet_wallet_entry_quota_remaining_ratio{entry_id="we_1",service="openai"} 0.25');
    expect(text).toContain('keywallet_usage_queue_depth 7');
    expect(text).toContain('keywallet_usage_events_written_total 3');
    expect(text).toContain('keywallet_usage_events_dropped_total 1');
  });
});

describe('bounded labels', () => {
  it('normalises blank, unknown, long and control-character values', () => {
    expect(boundedLabel(undefined)).toBe('none');
    expect(boundedLabel(null)).toBe('none');
    expect(boundedLabel('  ')).toBe('none');
    expect(boundedLabel(429)).toBe('429');
    expect(boundedLabel('chat', new Set(['chat']))).toBe('chat');
    expect(boundedLabel('rm -rf', new Set(['chat']))).toBe('other');
    expect(boundedLabel('x'.repeat(1000))).toHaveLength(128);
    expect(boundedLabel('a\nb\u0000c')).toBe('abc');
  });

  it('is idempotent, so a guarded value guarded again stays the same', () => {
    const known = new Set(['chat']);
    for (const v of [undefined, 'chat', 'nope']) expect(boundedLabel(boundedLabel(v, known), known)).toBe(boundedLabel(v, known));
  });

  it('caps distinct values per label and folds the rest into "other"', () => {
    const guard = new LabelGuard(['model'], {}, 3);
    expect(['a', 'b', 'c', 'd', 'a'].map((v) => guard.value('model', v))).toEqual(['a', 'b', 'c', 'other', 'a']);
  });

  it('caps model cardinality on the real metric, through labels() and inc()', async () => {
    const m = createMetrics({ collectDefault: false });
    for (let i = 0; i < MAX_VALUES_PER_LABEL + 100; i++) {
      if (i % 2) m.tokens.labels('openai', `model-${i}`, 'completion').inc();
      else m.tokens.inc({ service: 'openai', model: `model-${i}`, type: 'completion' });
    }
    const series = await seriesOf(m, 'keywallet_tokens_total');
    expect(series).toHaveLength(MAX_VALUES_PER_LABEL + 1);
    expect(series.find((s) => s.labels.model === 'other')?.value).toBe(100);
  });

  it('maps values outside an enumerated label to "other" and missing ones to "none"', async () => {
    const m = createMetrics({ collectDefault: false });
    m.upstreamAttempts.labels('openai', 'exploded').inc();
    m.httpRequests.labels('/x', 'BREW', '418').inc();
    m.gatewayRequests.inc({ surface: 'chat', service: undefined as unknown as string, status: 503 });
    m.httpDuration.startTimer({ route: '/y', method: 'get' })();
    const text = await m.registry.metrics();
    expect(text).toContain('keywallet_upstream_attempts_total{service="openai",outcome="other"} 1');
    expect(text).toContain('keywallet_http_requests_total{route="/x",method="other",status="418"} 1');
    expect(text).toContain('keywallet_gateway_requests_total{surface="chat",service="none",status="503"} 1');
    expect(text).toContain('keywallet_http_request_duration_seconds_count{route="/y",method="other"} 1');
  });

  it('removes a gauge series without claiming a slot for unseen values', async () => {
    const m = createMetrics({ collectDefault: false });
    m.walletEntryUp.labels('we_1', 'openai').set(0);
    m.walletEntryUp.remove('we_1', 'openai');
    m.walletEntryUp.remove({ entry_id: 'never-seen', service: 'openai' });
    expect(await seriesOf(m, 'keywallet_wallet_entry_up')).toHaveLength(0);
  });

  it('caches labels() children per label set, and a cached child still counts after a reset or a removal', async () => {
    const m = createMetrics({ collectDefault: false });
    const child = m.gatewayRequests.labels('chat', 'openai', '200');
    expect(m.gatewayRequests.labels('chat', 'openai', 200 as unknown as string)).toBe(child);
    expect(m.gatewayRequests.labels('chat', 'openai', '429')).not.toBe(child);
    child.inc();
    m.gatewayRequests.labels('chat', 'openai', '200').inc(2);
    expect((await seriesOf(m, 'keywallet_gateway_requests_total'))[0].value).toBe(3);
    m.registry.resetMetrics();
    m.gatewayRequests.labels('chat', 'openai', '200').inc();
    expect((await seriesOf(m, 'keywallet_gateway_requests_total'))[0].value).toBe(1);
    m.walletEntryUp.labels('we_1', 'openai').set(1);
    m.walletEntryUp.remove('we_1', 'openai');
    m.walletEntryUp.labels('we_1', 'openai').set(0);
    expect(await seriesOf(m, 'keywallet_wallet_entry_up')).toEqual([expect.objectContaining({ value: 0, labels: { entry_id: 'we_1', service: 'openai' } })]);
  });

  it('a cached child keeps the guarded values (unknown surface still "other")', async () => {
    const m = createMetrics({ collectDefault: false });
    m.gatewayRequests.labels('bogus', 'openai', '200').inc();
    m.gatewayRequests.labels('bogus', 'openai', '200').inc();
    expect(await m.registry.metrics()).toContain('keywallet_gateway_requests_total{surface="other",service="openai",status="200"} 2');
  });
});
