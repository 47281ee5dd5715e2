import { ClusterMetrics } from '../../src/cluster/metrics';
import type { MetricsJson } from '../../src/cluster/protocol';
import { createMetrics } from '../../src/metrics/metrics';

/** A worker's registry as the primary receives it. */
async function worker(fill: (m: ReturnType<typeof createMetrics>) => void): Promise<MetricsJson> {
  const m = createMetrics({ collectDefault: false });
  fill(m);
  return (await m.registry.getMetricsAsJSON()) as unknown as MetricsJson;
}

const line = (text: string, series: string) => {
  const found = text.split('\n').find((l) => l.startsWith(series + ' '));
  return found === undefined ? undefined : Number(found.slice(series.length + 1));
};

describe('cluster metrics aggregation', () => {
  it('sums counters and histograms, takes min / max where workers watch shared state, counts the shared stream once', async () => {
    const a = await worker((m) => {
      m.httpRequests.labels('/v1/chat/completions', 'POST', '200').inc(3);
      m.httpDuration.labels('/v1/chat/completions', 'POST').observe(0.002);
      m.walletEntryUp.labels('e1', 'openai').set(1);
      m.auditRows.set(42);
      m.usageBacklog.labels('stream').set(100);
      m.usageBacklog.labels('spool').set(5);
      m.usageBacklogLimit.labels('stream').set(1_000_000);
      m.usageBacklogLimit.labels('spool').set(1_000_000);
      m.usageQueueDepth.set(105);
    });
    const b = await worker((m) => {
      m.httpRequests.labels('/v1/chat/completions', 'POST', '200').inc(4);
      m.httpDuration.labels('/v1/chat/completions', 'POST').observe(0.02);
      m.walletEntryUp.labels('e1', 'openai').set(0); // this worker saw it cooling down
      m.usageBacklog.labels('stream').set(90); // read a moment earlier
      m.usageBacklog.labels('spool').set(7);
      m.usageBacklogLimit.labels('stream').set(1_000_000);
      m.usageBacklogLimit.labels('spool').set(1_000_000);
      m.usageQueueDepth.set(97);
    });
    const text = await new ClusterMetrics().render([a, b]);
    expect(line(text, 'keywallet_http_requests_total{route="/v1/chat/completions",method="POST",status="200"}')).toBe(7);
    expect(line(text, 'keywallet_http_request_duration_seconds_count{route="/v1/chat/completions",method="POST"}')).toBe(2);
    expect(line(text, 'keywallet_http_request_duration_seconds_bucket{le="0.005",route="/v1/chat/completions",method="POST"}')).toBe(1);
    expect(line(text, 'keywallet_wallet_entry_up{entry_id="e1",service="openai"}')).toBe(0);
    expect(line(text, 'keywallet_audit_rows')).toBe(42); // only worker 1 publishes checkpoints: not summed
    expect(line(text, 'keywallet_usage_backlog_events{store="stream"}')).toBe(100);
    expect(line(text, 'keywallet_usage_backlog_events{store="spool"}')).toBe(12);
    expect(line(text, 'keywallet_usage_backlog_limit_events{store="stream"}')).toBe(1_000_000);
    expect(line(text, 'keywallet_usage_backlog_limit_events{store="spool"}')).toBe(2_000_000);
    expect(line(text, 'keywallet_usage_queue_depth')).toBe(112); // the stream once, every spool
    expect(line(text, 'keywallet_cluster_workers')).toBe(0); // the primary's own gauge, set by the primary
    // the primary's own runtime metrics are in, the event-loop delay histogram among them
    expect(text).toMatch(/^keywallet_event_loop_delay_seconds_count \d+/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });

  it('keeps the counters of a worker that exited, so the sums never go down', async () => {
    const metrics = new ClusterMetrics();
    const gone = await worker((m) => m.httpRequests.labels('/health', 'GET', '200').inc(5));
    const stays = await worker((m) => m.httpRequests.labels('/health', 'GET', '200').inc(2));
    const series = 'keywallet_http_requests_total{route="/health",method="GET",status="200"}';
    expect(line(await metrics.render([gone, stays]), series)).toBe(7);
    metrics.retire(gone);
    const replacement = await worker((m) => m.httpRequests.labels('/health', 'GET', '200').inc(1));
    expect(line(await metrics.render([stays, replacement]), series)).toBe(8);
    // a second exit adds to what is retired
    metrics.retire(stays);
    expect(line(await metrics.render([replacement]), series)).toBe(8);
    // gauges of a worker gone are not kept
    const gauge = await worker((m) => m.usageBacklog.labels('spool').set(9));
    metrics.retire(gauge);
    expect(line(await metrics.render([]), 'keywallet_usage_backlog_events{store="spool"}')).toBeUndefined();
  });
});
