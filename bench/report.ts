/**
 * Turns the rounds into figures: samples of a target and scenario are merged across rounds before
 * percentiles are taken, CPU per request is total CPU over total requests, and every Keywallet figure that
 * has a target is set against the floor (or direct) measured in the same run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LoadResult, summarize } from './load';
import { DelaySteps, EventLoopFigures, summarizeDelays } from './event-loop';

export const TARGETS = ['direct', 'floor', 'keywallet-postgres', 'keywallet-cluster', 'keywallet-embedded'] as const;
export type TargetName = (typeof TARGETS)[number];
export const GATEWAYS = ['keywallet-postgres', 'keywallet-cluster', 'keywallet-embedded'] as const;
export type GatewayName = (typeof GATEWAYS)[number];

export const SCENARIOS = {
  closed50: 'closed loop, 50 connections',
  open400: 'open loop, 400 req/s',
  open1000: 'open loop, 1,000 req/s',
  stream20: 'streams, closed loop, 20 connections',
  stream200: 'streams, open loop, 200/s',
} as const;
export type ScenarioName = keyof typeof SCENARIOS;

export interface Measurement {
  target: TargetName;
  scenario: ScenarioName;
  round: number;
  result: LoadResult;
  /** CPU time the proxy process used during the run (null for direct: there is no proxy) */
  cpuMicros: number | null;
  /** usage events the gateway wrote during the run (Keywallet only) */
  usageEvents: number | null;
  /** the gateway's event-loop delay during the run, every process merged (Keywallet, steady-rate runs only) */
  eventLoop: DelaySteps | null;
}

export interface Cell {
  ok: number;
  failed: number;
  rps: number;
  p50: number;
  p99: number;
  ttfbP50: number | null;
  ttfbP99: number | null;
  cpuUsPerRequest: number | null;
  usageEventsPerSecond: number | null;
  /** event-loop delay beyond the 1 ms sampling interval, every process and round merged */
  eventLoop: EventLoopFigures | null;
  perRound: { rps: number; p50: number; p99: number }[];
}

export interface GatewayFacts {
  peakRssMb: number;
  rssAfterWarmUpMb: number;
  rssEndMb: number;
  /** events the usage writer committed per second on its own (bench/usage-writer.ts) */
  writerEventsPerSecond: number | null;
  /** rows in usage_events after shutdown vs requests the gateway answered (PostgreSQL only) */
  usageRows: number | null;
  requestsServed: number;
}

export type Cells = Partial<Record<TargetName, Partial<Record<ScenarioName, Cell>>>>;

export function aggregate(measurements: Measurement[]): Cells {
  const cells: Cells = {};
  for (const target of TARGETS) {
    for (const scenario of Object.keys(SCENARIOS) as ScenarioName[]) {
      const runs = measurements.filter((m) => m.target === target && m.scenario === scenario);
      if (!runs.length) continue;
      const sum = (f: (m: Measurement) => number) => runs.reduce((acc, m) => acc + f(m), 0);
      const latency = summarize(runs.flatMap((m) => m.result.latencies));
      const ttfbs = runs.flatMap((m) => m.result.ttfbs);
      const ttfb = ttfbs.length ? summarize(ttfbs) : null;
      const seconds = sum((m) => m.result.durationS);
      const requests = sum((m) => m.result.ok + m.result.failed);
      const cpu = runs.every((m) => m.cpuMicros !== null) ? sum((m) => m.cpuMicros ?? 0) : null;
      const events = runs.every((m) => m.usageEvents !== null) ? sum((m) => m.usageEvents ?? 0) : null;
      (cells[target] ??= {})[scenario] = {
        ok: sum((m) => m.result.ok),
        failed: sum((m) => m.result.failed),
        rps: sum((m) => m.result.ok) / seconds,
        p50: latency.p50,
        p99: latency.p99,
        ttfbP50: ttfb?.p50 ?? null,
        ttfbP99: ttfb?.p99 ?? null,
        cpuUsPerRequest: cpu === null || !requests ? null : cpu / requests,
        usageEventsPerSecond: events === null ? null : events / seconds,
        eventLoop: runs.some((m) => m.eventLoop) ? summarizeDelays(runs.flatMap((m) => m.eventLoop ?? [])) : null,
        perRound: runs.map((m) => {
          const s = summarize(m.result.latencies);
          return { rps: m.result.ok / m.result.durationS, p50: s.p50, p99: s.p99 };
        }),
      };
    }
  }
  return cells;
}

export interface TargetCheck {
  gateway: GatewayName;
  goal: string;
  value: string;
  pass: boolean | null;
}

const fmt = (v: number | null | undefined, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
const int = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Math.round(v).toLocaleString('en-US'));

export function checkTargets(cells: Cells, facts: Partial<Record<GatewayName, GatewayFacts>>, cores = 1): TargetCheck[] {
  const out: TargetCheck[] = [];
  const floor = cells.floor?.closed50;
  const direct = cells.direct;
  for (const gateway of GATEWAYS) {
    const kw = cells[gateway];
    if (!kw) continue;
    const add = (goal: string, value: number | null | undefined, pass: (v: number) => boolean, shown: (v: number) => string) =>
      out.push({ gateway, goal, value: value === null || value === undefined || Number.isNaN(value) ? 'n/a' : shown(value), pass: value === null || value === undefined || Number.isNaN(value) ? null : pass(value) });
    const ratio = (a?: number | null, b?: number | null) => (a != null && b ? a / b : null);
    const added = (a?: number | null, b?: number | null) => (a != null && b != null ? a - b : null);
    // issue 19's targets, each against the floor or the direct call in the same run
    add('CPU per request ≤ 3× the floor (50 connections)', ratio(kw.closed50?.cpuUsPerRequest, floor?.cpuUsPerRequest), (v) => v <= 3, (v) => `${v.toFixed(2)}× (${fmt(kw.closed50?.cpuUsPerRequest, 0)} µs vs ${fmt(floor?.cpuUsPerRequest, 0)} µs)`);
    add('400 req/s: p99 added ≤ 2 ms', added(kw.open400?.p99, direct?.open400?.p99), (v) => v <= 2, (v) => `${v.toFixed(2)} ms`);
    add('stream TTFB p50 added ≤ 0.6 ms (200/s)', added(kw.stream200?.ttfbP50, direct?.stream200?.ttfbP50), (v) => v <= 0.6, (v) => `${v.toFixed(2)} ms`);
    const rssGoal = gateway === 'keywallet-embedded' ? 300 : 200;
    if (gateway !== 'keywallet-cluster') add(`peak RSS ≤ ${rssGoal} MB`, facts[gateway]?.peakRssMb, (v) => v <= rssGoal, (v) => `${v.toFixed(0)} MB`);
    add('usage writer ≥ 20,000 events/s', facts[gateway]?.writerEventsPerSecond, (v) => v >= 20_000, (v) => `${int(v)}/s`);
    if (gateway === 'keywallet-cluster') {
      // issue 19: on every core, at least 60% of what one floor process serves, per core used
      const perCore = kw.closed50 && floor ? kw.closed50.rps / cores / floor.rps : null;
      add(`all ${cores} cores: requests/s per core ≥ 60% of the one-process floor`, perCore, (v) => v >= 0.6, (v) => `${(v * 100).toFixed(0)}% (${int(kw.closed50?.rps)}/s on ${cores} workers)`);
    }
  }
  return out;
}

const COLUMN_TITLES: Record<TargetName, string> = {
  direct: 'direct',
  floor: 'Node floor',
  'keywallet-postgres': 'Keywallet (PostgreSQL + Redis)',
  'keywallet-cluster': 'Keywallet all cores (PostgreSQL + Redis, WORKERS = cores)',
  'keywallet-embedded': 'Keywallet (embedded)',
};

/** The one table: absolute figures for direct, and for every proxy what it adds over direct. */
export function renderTable(cells: Cells, facts: Partial<Record<GatewayName, GatewayFacts>>): string {
  const columns = TARGETS.filter((t) => cells[t]);
  const rows: [string, (t: TargetName) => string][] = [];
  const direct = cells.direct ?? {};
  const lat = (s: ScenarioName, pick: 'p' | 'ttfb') => (t: TargetName) => {
    const c = cells[t]?.[s];
    if (!c) return '–';
    const [a, b] = pick === 'p' ? [c.p50, c.p99] : [c.ttfbP50, c.ttfbP99];
    const base = direct[s];
    if (t === 'direct' || !base) return `${fmt(a)} / ${fmt(b)}`;
    const [da, db] = pick === 'p' ? [base.p50, base.p99] : [base.ttfbP50, base.ttfbP99];
    return `+${fmt(a! - da!)} / +${fmt(b! - db!)}`;
  };
  const failures = (t: TargetName) => Object.values(cells[t] ?? {}).reduce((n, c) => n + (c?.failed ?? 0), 0);
  rows.push(['closed 50 conn: requests/s', (t) => int(cells[t]?.closed50?.rps)]);
  rows.push(['… vs floor', (t) => (cells[t]?.closed50 && cells.floor?.closed50 ? `${((cells[t]!.closed50!.rps / cells.floor.closed50.rps) * 100).toFixed(0)}%` : '–')]);
  rows.push(['closed 50 conn: p50 / p99 ms', (t) => `${fmt(cells[t]?.closed50?.p50)} / ${fmt(cells[t]?.closed50?.p99)}`]);
  rows.push(['closed 50 conn: CPU µs/request (proxy)', (t) => fmt(cells[t]?.closed50?.cpuUsPerRequest, 0)]);
  rows.push(['open 400/s: p50 / p99 ms (added)', lat('open400', 'p')]);
  rows.push(['open 1,000/s: p50 / p99 ms (added)', lat('open1000', 'p')]);
  rows.push(['open 1,000/s: CPU µs/request (proxy)', (t) => fmt(cells[t]?.open1000?.cpuUsPerRequest, 0)]);
  const eld = (s: ScenarioName) => (t: TargetName) => {
    const e = cells[t]?.[s]?.eventLoop;
    return e ? `${fmt(e.p50Ms)} / ${fmt(e.p99Ms)} / ${fmt(e.maxMs, 1)}` : '–';
  };
  rows.push(['open 400/s: event-loop delay p50 / p99 / max ms (gateway)', eld('open400')]);
  rows.push(['open 1,000/s: event-loop delay p50 / p99 / max ms (gateway)', eld('open1000')]);
  rows.push(['stream 20 conn: whole p50 / p99 ms (added)', lat('stream20', 'p')]);
  rows.push(['stream 20 conn: TTFB p50 / p99 ms (added)', lat('stream20', 'ttfb')]);
  rows.push(['stream 20 conn: streams/s', (t) => int(cells[t]?.stream20?.rps)]);
  rows.push(['stream 200/s: whole p50 / p99 ms (added)', lat('stream200', 'p')]);
  rows.push(['stream 200/s: TTFB p50 / p99 ms (added)', lat('stream200', 'ttfb')]);
  const fact = (t: TargetName) => (facts as Record<string, GatewayFacts | undefined>)[t];
  rows.push(['peak RSS MB', (t) => fmt(fact(t)?.peakRssMb, 0)]);
  rows.push(['RSS MB after warm-up → at the end', (t) => (fact(t) ? `${fmt(fact(t)!.rssAfterWarmUpMb, 0)} → ${fmt(fact(t)!.rssEndMb, 0)}` : '–')]);
  rows.push(['usage events/s written (closed loop)', (t) => int(cells[t]?.closed50?.usageEventsPerSecond)]);
  rows.push(['usage writer capacity, events/s', (t) => int(fact(t)?.writerEventsPerSecond)]);
  rows.push(['usage rows / requests answered', (t) => {
    const f = fact(t);
    return f && f.usageRows !== null ? `${int(f.usageRows)} / ${int(f.requestsServed)}` : '–';
  }]);
  rows.push(['failed requests (all runs)', (t) => int(failures(t))]);
  const header = `| | ${columns.map((t) => COLUMN_TITLES[t]).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---:').join('|')}|`;
  const body = rows.map(([label, value]) => `| ${label} | ${columns.map((t) => value(t)).join(' | ')} |`);
  return [header, rule, ...body].join('\n');
}

export function renderTargets(checks: TargetCheck[]): string {
  const lines = ['| target | gateway | measured | |', '|---|---|---:|---|'];
  for (const c of checks) lines.push(`| ${c.goal} | ${c.gateway} | ${c.value} | ${c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'MISS'} |`);
  return lines.join('\n');
}

export interface RunInfo {
  command: string;
  machine: { cpus: number; model: string; memoryGb: number; node: string; platform: string };
  loadAverageAtStart: number[];
  /** share of all CPU time the hypervisor took for other guests during the run (Linux), null when unknown */
  stealPercent: number | null;
  rounds: number;
  durations: object;
}

/** bench/results.json (everything, git-ignored) and bench/RESULTS.md (the table, committed). Returns the text printed. */
export function writeResults(
  dir: string,
  run: RunInfo,
  cells: Cells,
  facts: Partial<Record<GatewayName, GatewayFacts>>,
  checks: TargetCheck[],
  measurements: Measurement[],
): string {
  const date = new Date().toISOString();
  const table = renderTable(cells, facts);
  const targets = renderTargets(checks);
  const rows = measurements.map(({ result, ...m }) => ({ ...m, ok: result.ok, failed: result.failed, failures: result.failures, durationS: result.durationS }));
  fs.writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify({ date, ...run, cells, facts, targets: checks, measurements: rows }, null, 2)}\n`);
  const m = run.machine;
  const md = [
    '# Benchmark results',
    '',
    `\`${run.command}\` on ${date.slice(0, 10)}: ${m.cpus} × ${m.model}, ${m.memoryGb} GB, Node ${m.node}, ${m.platform}; load average ${run.loadAverageAtStart.join(' ')} at the start${run.stealPercent === null ? '' : `; ${run.stealPercent}% of CPU time stolen by the host during the run${run.stealPercent >= 2 ? ' (a noisy neighbour: every figure is inflated, ratios less so)' : ''}`}.`,
    '',
    `Every server runs in its own process on 127.0.0.1, loaded in turn over ${run.rounds} interleaved round(s). Latency in ms; "+x" is what a proxy adds over calling the mock upstream directly.`,
    'Open-loop latency counts from the scheduled send time. CPU is utime + stime of the proxy process (from /proc) over the requests it served; for all cores, of the primary and every worker together, as are its RSS figures (peak: the sum of each process\'s peak).',
    'Event-loop delay: monitorEventLoopDelay at 1 ms resolution in every gateway process during the run (bench/eld-probe.cjs), beyond the 1 ms sampling interval, processes merged.',
    'The machine is shared and noisy: ratios against the floor measured in the same run are the figures that count.',
    '',
    table,
    '',
    '## Targets (issue 19)',
    '',
    targets,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'RESULTS.md'), md);
  return `${table}\n\n${targets}`;
}
