import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics';
import { ClusterMetrics } from '../../src/cluster/metrics';

/**
 * The alert rules and the Grafana dashboard are written against the metric contract in
 * src/metrics/metrics.ts. These tests read every PromQL expression in monitoring/ and fail when one names
 * a metric the gateway does not export, or a label that metric does not carry, so a rename on either side
 * cannot silently leave an empty panel or an alert that never fires.
 */

const root = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

/** Labels Prometheus adds to every scraped series, and the series it synthesises per target. */
const TARGET_LABELS = ['job', 'instance'];
const SYNTHETIC_SERIES: Record<string, string[]> = { up: [] };
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];
const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
const PROMQL_FUNCTIONS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'topk', 'bottomk', 'quantile', 'stddev', 'count_values',
  'rate', 'irate', 'increase', 'delta', 'histogram_quantile', 'vector', 'scalar', 'abs', 'clamp_min', 'clamp_max',
  'avg_over_time', 'max_over_time', 'min_over_time', 'absent', 'round', 'time', 'label_replace',
]);

interface Exported {
  labels: Set<string>;
}

async function exportedMetrics(): Promise<Map<string, Exported>> {
  // with the process metrics: the event-loop delay histogram is one of them
  const { registry } = createMetrics();
  // WORKERS > 1: the cluster primary's own metrics are served with the workers' (src/cluster/metrics.ts)
  const primary = new ClusterMetrics().registry;
  for (const metric of primary.getMetricsAsArray()) if (!registry.getSingleMetric((metric as unknown as { name: string }).name)) registry.registerMetric(metric as unknown as Parameters<typeof registry.registerMetric>[0]);
  const out = new Map<string, Exported>();
  for (const { name, type } of await registry.getMetricsAsJSON()) {
    // labelNames is prom-client's own field (not in its typings); an absent field must fail, not pass.
    const labelNames = (registry.getSingleMetric(name) as unknown as { labelNames: unknown }).labelNames;
    if (!Array.isArray(labelNames)) throw new Error(`prom-client no longer exposes labelNames on ${name}`);
    const labels = new Set<string>([...labelNames, ...TARGET_LABELS]);
    out.set(name, { labels });
    if (String(type) === 'histogram') {
      for (const suffix of HISTOGRAM_SUFFIXES) {
        out.set(name + suffix, { labels: suffix === '_bucket' ? new Set([...labels, 'le']) : labels });
      }
    }
  }
  for (const [name, labels] of Object.entries(SYNTHETIC_SERIES)) out.set(name, { labels: new Set([...labels, ...TARGET_LABELS]) });
  return out;
}

interface ParsedExpr {
  metrics: string[];
  /** Label names used in a matcher, per metric. */
  matchers: Array<{ metric: string; label: string }>;
  /** Label names in by / without / on / ignoring / group_left / group_right clauses. */
  grouping: string[];
}

/** A small PromQL reader: enough to find metric names and label names, not to evaluate anything. */
function parsePromQl(expr: string): ParsedExpr {
  let rest = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\[[^\]]*\]/g, '');
  const metrics: string[] = [];
  const matchers: ParsedExpr['matchers'] = [];
  const grouping: string[] = [];
  rest = rest.replace(/(?<![\w.:])([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_all, metric: string | undefined, body: string) => {
    if (!metric) throw new Error(`selector without a metric name in: ${expr}`);
    metrics.push(metric);
    for (const m of body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) matchers.push({ metric, label: m[1] });
    return ' ';
  });
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_all, _kw, list: string) => {
    grouping.push(...list.split(',').map((s) => s.trim()).filter(Boolean));
    return ' ';
  });
  for (const m of rest.matchAll(/(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, word, call] = m;
    if (call) {
      if (!PROMQL_FUNCTIONS.has(word)) throw new Error(`unknown PromQL function ${word} in: ${expr}`);
    } else if (!PROMQL_WORDS.has(word.toLowerCase())) {
      metrics.push(word);
    }
  }
  return { metrics, matchers, grouping };
}

interface Usage {
  where: string;
  expr: string;
  /** Labels the result is expected to carry: legendFormat {{x}} or alert annotations' $labels.x. */
  resultLabels: string[];
}

function templateLabels(text: string | undefined, pattern: RegExp): string[] {
  return [...(text ?? '').matchAll(pattern)].map((m) => m[1]);
}

interface Panel {
  id?: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; legendFormat?: string; datasource?: { uid?: string } }>;
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; definition?: string; datasource?: { uid?: string } }> };
}

const dashboard = JSON.parse(read('monitoring/grafana/dashboards/keywallet.json')) as Dashboard;
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const alertRules = (
  parseYaml(read('monitoring/prometheus/alerts.yml')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string; annotations?: Record<string, string> }> }>;
  }
).groups.flatMap((g) => g.rules);

function dashboardUsages(): Usage[] {
  const legend = /\{\{\s*([a-zA-Z_]\w*)\s*\}\}/g;
  const fromPanels = allPanels.flatMap((panel) =>
    (panel.targets ?? []).map((t) => ({
      where: `panel "${panel.title}"`,
      expr: t.expr,
      resultLabels: templateLabels(t.legendFormat, legend),
    })),
  );
  const fromVariables = dashboard.templating.list.flatMap((v) => {
    const m = /^label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)$/.exec(v.definition ?? '');
    if (!m) throw new Error(`variable ${v.name}: expected label_values(metric, label)`);
    return [{ where: `variable $${v.name}`, expr: m[1], resultLabels: [m[2]] }];
  });
  return [...fromPanels, ...fromVariables];
}

function alertUsages(): Usage[] {
  return alertRules.map((rule) => ({
    where: `alert ${rule.alert}`,
    expr: rule.expr,
    resultLabels: Object.values(rule.annotations ?? {}).flatMap((a) => templateLabels(a, /\$labels\.(\w+)/g)),
  }));
}

/** Every problem found in one usage, as readable lines (empty when all is well). */
function problemsIn(usage: Usage, exported: Map<string, Exported>): string[] {
  const problems: string[] = [];
  const parsed = parsePromQl(usage.expr);
  if (parsed.metrics.length === 0) problems.push(`${usage.where}: no metric in ${usage.expr}`);
  for (const metric of parsed.metrics) {
    if (!exported.has(metric)) problems.push(`${usage.where}: metric ${metric} is not exported`);
  }
  for (const { metric, label } of parsed.matchers) {
    if (exported.get(metric) && !exported.get(metric)!.labels.has(label)) {
      problems.push(`${usage.where}: ${metric} has no label "${label}"`);
    }
  }
  for (const label of [...parsed.grouping, ...usage.resultLabels]) {
    for (const metric of parsed.metrics) {
      if (exported.get(metric) && !exported.get(metric)!.labels.has(label)) {
        problems.push(`${usage.where}: label "${label}" is not on ${metric}`);
      }
    }
  }
  return problems;
}

describe('PromQL reader', () => {
  it('finds metrics, matcher labels and grouping labels, ignoring strings and ranges', () => {
    const parsed = parsePromQl(
      'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{route!~"/v1/(x|y){2}", method="GET"}[$__rate_interval]))) / on (route) b or vector(0)',
    );
    expect(parsed.metrics.sort()).toEqual(['a_bucket', 'b']);
    expect(parsed.matchers).toEqual([{ metric: 'a_bucket', label: 'route' }, { metric: 'a_bucket', label: 'method' }]);
    expect(parsed.grouping).toEqual(['le', 'route', 'route']);
  });

  it('flags a misspelt metric, a missing label and an unknown function', async () => {
    const exported = await exportedMetrics();
    const bad = (expr: string, resultLabels: string[] = []) => problemsIn({ where: 't', expr, resultLabels }, exported);
    expect(bad('rate(keywalet_tokens_total[5m])')).toEqual(['t: metric keywalet_tokens_total is not exported']);
    expect(bad('keywallet_tokens_total{provider="x"}')).toEqual(['t: keywallet_tokens_total has no label "provider"']);
    expect(bad('sum by (route) (keywallet_tokens_total)')).toEqual(['t: label "route" is not on keywallet_tokens_total']);
    expect(bad('keywallet_usage_queue_depth', ['entry_id'])).toEqual(['t: label "entry_id" is not on keywallet_usage_queue_depth']);
    expect(() => parsePromQl('summ(keywallet_tokens_total)')).toThrow(/unknown PromQL function summ/);
  });
});

describe('alert rules', () => {
  it('cover the agreed conditions', () => {
    const exprs = alertRules.map((r) => r.expr).join('\n');
    expect(exprs).toMatch(/keywallet_wallet_entry_up == 0/);
    expect(exprs).toMatch(/keywallet_wallet_entry_quota_remaining_ratio < 0\.1/);
    expect(exprs).toMatch(/keywallet_gateway_requests_total\{status=~"5\.\."\}[\s\S]*> 0\.05/);
    expect(exprs).toMatch(/histogram_quantile\(0\.99,[\s\S]*keywallet_http_request_duration_seconds_bucket[\s\S]*> 2/);
    expect(exprs).toMatch(/keywallet_usage_events_dropped_total/);
  });

  it('name only exported metrics and labels', async () => {
    const exported = await exportedMetrics();
    expect(alertUsages().flatMap((u) => problemsIn(u, exported))).toEqual([]);
  });
});

describe('Grafana dashboard', () => {
  it('names only exported metrics and labels, legends and variables included', async () => {
    const exported = await exportedMetrics();
    const usages = dashboardUsages();
    expect(usages.length).toBeGreaterThan(20);
    expect(usages.flatMap((u) => problemsIn(u, exported))).toEqual([]);
  });

  it('shows every metric the gateway exports', async () => {
    const shown = new Set(dashboardUsages().flatMap((u) => parsePromQl(u.expr).metrics));
    const { registry } = createMetrics({ collectDefault: false });
    const missing = (await registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((name) => ![name, ...HISTOGRAM_SUFFIXES.map((s) => name + s)].some((n) => shown.has(n)));
    expect(missing).toEqual([]);
  });

  it('uses the provisioned datasource everywhere', () => {
    const provisioned = parseYaml(read('monitoring/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ uid: string; url: string }>;
    };
    const uid = provisioned.datasources[0].uid;
    const used = [
      ...allPanels.filter((p) => p.type !== 'row').flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]),
      ...dashboard.templating.list.map((v) => v.datasource?.uid),
    ];
    expect(new Set(used)).toEqual(new Set([uid]));
    expect(provisioned.datasources[0].url).toBe('http://prometheus:9090');
  });

  it('is a modern dashboard whose panels have unique ids and do not overlap', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { gridPos: g, title } of allPanels) {
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const cell = `${x},${y}`;
          if (cells.has(cell)) throw new Error(`panel "${title}" overlaps another at ${cell}`);
          cells.add(cell);
        }
      }
    }
  });
});

describe('stack wiring', () => {
  const compose = parseYaml(read('docker-compose.yml')) as {
    services: Record<string, { volumes?: string[]; environment?: Record<string, string> | string[] }>;
  };
  const mounts = (service: string) =>
    Object.fromEntries((compose.services[service].volumes ?? []).map((v) => v.split(':').slice(0, 2).reverse()));

  it('mounts the Prometheus config and rules where prometheus.yml expects them', () => {
    const promConfig = parseYaml(read('monitoring/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }>;
    };
    expect(mounts('prometheus')['/etc/prometheus']).toBe('./monitoring/prometheus');
    for (const file of promConfig.rule_files) expect(fs.existsSync(path.join(root, 'monitoring/prometheus', file))).toBe(true);
    const gateway = promConfig.scrape_configs.find((s) => s.job_name === 'keywallet')!;
    expect(gateway.metrics_path).toBe('/metrics');
    // compose serves /metrics on a private METRICS_PORT listener, not on the published gateway port
    const env = compose.services.keywallet.environment as Record<string, string>;
    expect(gateway.static_configs[0].targets).toEqual([`keywallet:${env.METRICS_PORT}`]);
    expect(env.METRICS_HOST).toBe('0.0.0.0');
  });

  it('mounts Grafana provisioning and the dashboards folder the file provider reads', () => {
    const provider = (
      parseYaml(read('monitoring/grafana/provisioning/dashboards/keywallet.yml')) as {
        providers: Array<{ type: string; options: { path: string } }>;
      }
    ).providers[0];
    expect(provider.type).toBe('file');
    expect(mounts('grafana')[provider.options.path]).toBe('./monitoring/grafana/dashboards');
    for (const kind of ['datasources', 'dashboards']) {
      expect(mounts('grafana')[`/etc/grafana/provisioning/${kind}`]).toBe(`./monitoring/grafana/provisioning/${kind}`);
    }
  });
});
