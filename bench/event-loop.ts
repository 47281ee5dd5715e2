/**
 * Event-loop delay of the benchmarked gateway during a run: every process of it (a cluster's primary and workers)
 * runs bench/eld-probe.cjs, which dumps Node's monitorEventLoopDelay (1 ms resolution) on SIGUSR2. Before a run the
 * bench signals once (the dump is dropped: the counters start over), after it once more; the processes' HDR
 * breakpoints are merged into one distribution of every sample, and the 1 ms sampling interval is subtracted, as
 * keywallet_event_loop_delay_seconds does.
 */
import fs from 'node:fs';
import path from 'node:path';

const RESOLUTION_NS = 1e6;

/** [delay in ns beyond the sampling interval, samples at most that long] */
export type DelaySteps = [number, number][];

export interface EventLoopFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

interface Dump {
  seq: number;
  count: number;
  max: number;
  percentiles: [number, number][];
}

function read(dir: string, pid: number): Dump | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, `${pid}.json`), 'utf8')) as Dump;
  } catch {
    return null;
  }
}

/** Signals every process and waits (up to 3 s) for its dump; a process that does not answer is left out. */
export async function dumpEventLoop(dir: string, pids: number[]): Promise<DelaySteps> {
  const before = new Map(pids.map((pid) => [pid, read(dir, pid)?.seq ?? 0]));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      before.delete(pid); // exited
    }
  }
  const steps: DelaySteps = [];
  const deadline = Date.now() + 3000;
  const waiting = new Set(before.keys());
  while (waiting.size && Date.now() < deadline) {
    for (const pid of [...waiting]) {
      const dump = read(dir, pid);
      if (!dump || dump.seq <= before.get(pid)!) continue;
      waiting.delete(pid);
      steps.push(...toSteps(dump));
    }
    if (waiting.size) await new Promise((r) => setTimeout(r, 20));
  }
  return steps;
}

/** An HDR histogram's percentile breakpoints as (value, samples) steps: exact to the histogram's precision. */
function toSteps(d: Dump): DelaySteps {
  if (!d.count) return [];
  const sorted = [...d.percentiles].sort((a, b) => a[0] - b[0]);
  const out: DelaySteps = [];
  let previous = 0;
  let folded = 0;
  sorted.forEach(([percentile, ns], i) => {
    const samples = i === sorted.length - 1 ? d.count - folded : Math.round(((percentile - previous) / 100) * d.count);
    previous = percentile;
    if (samples <= 0) return;
    folded += samples;
    out.push([Math.max(0, ns - RESOLUTION_NS), samples]);
  });
  return out;
}

export function summarizeDelays(steps: DelaySteps): EventLoopFigures | null {
  const total = steps.reduce((n, [, s]) => n + s, 0);
  if (!total) return null;
  const sorted = [...steps].sort((a, b) => a[0] - b[0]);
  const at = (q: number) => {
    let seen = 0;
    for (const [ns, s] of sorted) {
      seen += s;
      if (seen >= q * total) return ns / 1e6;
    }
    return sorted[sorted.length - 1][0] / 1e6;
  };
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1][0] / 1e6, samples: total };
}
