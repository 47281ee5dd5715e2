/**
 * `npm run bench:ab -- [--base DIR] [--variant NAME:ENV=V,--node-flag,...]... [--embedded] [--rounds N] [--seconds S]`:
 * two or more builds of Keywallet side by side on one upstream, alternated round by round (A B A B …, the order
 * rotating each round) so a noisy phase of a shared machine falls on both. Subjects: this checkout's build
 * (`new`), another checkout's (`--base`, built: its dist/), and this build with other environment variables or
 * node flags (`--variant`). Per round and subject: gateway CPU per request and requests/s at 50 connections (closed loop),
 * and the latency added over direct at a steady 400 requests/s (open loop, direct measured in the same round) with
 * the young-generation collections of that window (count, median pause, median promoted: the gateway runs with
 * --trace-gc-nvp, one line per collection in its log).
 * Prints every round and the range over the rounds: one run's figure is not a result on this machine, the
 * range of alternated runs is.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keywallet, startKeywallet, StartOptions } from './keywallet';
import { summarize, Target } from './load';
import { forkServer, installCleanup, stopAll, stopProcess, treeCpuMicros } from './processes';
import { dumpEventLoop, summarizeDelays } from './event-loop';
import { runScenario, verify, warmUp } from './scenarios';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return undefined;
  return args[at].includes('=') ? args[at].slice(name.length + 1) : args[at + 1];
};
const rounds = Math.max(1, Number(flag('--rounds') ?? 3));
const seconds = Math.max(1, Number(flag('--seconds') ?? 5));
const backend = args.includes('--embedded') ? 'embedded' : 'postgres';
const UPSTREAM_KEY = 'sk-bench-upstream-0000000000000000';
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Subject {
  name: string;
  options: StartOptions;
  kw?: Keywallet;
  target?: Target;
  rows: { cpuUs: number; rps: number; p50: number; p99: number; eldMax: number | null; gc: Scavenges }[];
}

function subjects(): Subject[] {
  const out: Subject[] = [{ name: 'new', options: {}, rows: [] }];
  const base = flag('--base');
  if (base) {
    const root = path.resolve(base);
    if (!fs.existsSync(path.join(root, 'dist/src/main.js'))) throw new Error(`--base ${root}: dist/src/main.js is missing (npm run build there)`);
    out.unshift({ name: 'base', options: { root }, rows: [] });
  }
  args.forEach((a, i) => {
    if (a !== '--variant' && !a.startsWith('--variant=')) return;
    const spec = a.startsWith('--variant=') ? a.slice('--variant='.length) : args[i + 1];
    const [name, settings = ''] = spec.split(':');
    const items = settings.split(',').filter(Boolean);
    const extraNodeArgs = items.filter((item) => item.startsWith('--'));
    const extraEnv = Object.fromEntries(items.filter((item) => !item.startsWith('--')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    out.push({ name, options: { extraEnv, extraNodeArgs }, rows: [] });
  });
  return out;
}

/** The scavenges of a window, from the `--trace-gc-nvp` lines the gateway wrote to its log meanwhile. */
interface Scavenges {
  count: number;
  pauseMs: number;
  promotedMb: number;
}

function scavenges(logFile: string, from: number): Scavenges {
  const text = fs.readFileSync(logFile).subarray(from).toString('utf8'); // `from` is a byte offset (the file's size)
  const rows = text.split('\n').filter((line) => / gc=s /.test(line)).map((line) => Object.fromEntries([...line.matchAll(/(\S+)=(\S+)/g)].map((m) => [m[1], Number(m[2])])));
  return {
    count: rows.length,
    pauseMs: summarize(rows.map((r) => r.pause)).p50,
    promotedMb: summarize(rows.map((r) => r.promoted / 1e6)).p50,
  };
}

const range = (values: number[], digits = 0) => {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) return '–';
  const lo = Math.min(...v).toFixed(digits);
  const hi = Math.max(...v).toFixed(digits);
  return lo === hi ? lo : `${lo}–${hi}`;
};

async function main(): Promise<void> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-ab-'));
  const list = subjects();
  installCleanup(async () => {
    for (const s of list) if (s.kw) await stopProcess(s.kw.proc);
    await stopAll();
  });
  try {
    const upstream = await forkServer('upstream', 'upstream.ts', {}, logDir);
    const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
    const direct: Target = { name: 'direct', url: `${upstreamUrl}/v1/chat/completions`, headers: { authorization: `Bearer ${UPSTREAM_KEY}` } };
    const durations = { closedS: seconds, openS: seconds, streamS: seconds, warmS: 3 };
    say(`side by side on ${backend}: ${list.map((s) => s.name).join(', ')}; ${rounds} round(s) of ${seconds} s per scenario; load average ${os.loadavg()[0].toFixed(2)}`);
    for (const s of list) {
      // every scavenge's pause and what it promoted, one line each in the gateway's log (read per window)
      const extraNodeArgs = [...(s.options.extraNodeArgs ?? []), '--trace-gc-nvp'];
      s.kw = await startKeywallet(backend, upstreamUrl, logDir, { ...s.options, extraNodeArgs, name: `keywallet-${s.name}` });
      s.target = { name: s.name, url: `${s.kw.url}/v1/chat/completions`, headers: { authorization: `Bearer ${s.kw.gatewayKey}` } };
      say(`  ${s.name.padEnd(10)} ${await verify(s.target)}`);
      await warmUp(s.target, durations);
    }
    for (let round = 1; round <= rounds; round++) {
      const order = list.map((_, i) => list[(i + round - 1) % list.length]);
      for (const s of order) {
        const kw = s.kw!;
        await sleep(300);
        const cpu0 = treeCpuMicros(kw.proc.pid);
        const closed = await runScenario('closed50', s.target!, durations);
        const cpuUs = (treeCpuMicros(kw.proc.pid) - cpu0) / Math.max(1, closed.ok + closed.failed);
        await sleep(300);
        const directRun = await runScenario('open400', direct, durations);
        await sleep(300);
        await dumpEventLoop(kw.eldDir, kw.pids());
        const logAt = fs.statSync(kw.proc.logFile).size;
        const open = await runScenario('open400', s.target!, durations);
        const gc = scavenges(kw.proc.logFile, logAt);
        const eld = summarizeDelays(await dumpEventLoop(kw.eldDir, kw.pids()));
        const d = summarize(directRun.latencies);
        const g = summarize(open.latencies);
        const row = { cpuUs, rps: closed.ok / closed.durationS, p50: g.p50 - d.p50, p99: g.p99 - d.p99, eldMax: eld?.maxMs ?? null, gc };
        s.rows.push(row);
        const failed = closed.failed + open.failed;
        say(
          `  round ${round} ${s.name.padEnd(10)} cpu ${row.cpuUs.toFixed(0).padStart(4)} µs/req  ${row.rps.toFixed(0).padStart(5)} req/s  ` +
            `400/s added p50 +${row.p50.toFixed(2)} p99 +${row.p99.toFixed(2)} ms  event-loop max ${row.eldMax?.toFixed(1) ?? '–'} ms  ` +
            `${gc.count} scavenges, median ${gc.pauseMs.toFixed(1)} ms, promoted ${gc.promotedMb.toFixed(2)} MB${failed ? `  ${failed} FAILED` : ''}`,
        );
      }
    }
    say('\n| build | CPU µs/request | requests/s (50 conn.) | p50 added at 400/s | p99 added at 400/s | event-loop delay max | scavenges at 400/s | scavenge pause (median) | promoted per scavenge |');
    say('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of list) {
      const r = s.rows;
      say(`| ${s.name} | ${range(r.map((x) => x.cpuUs))} | ${range(r.map((x) => x.rps))} | +${range(r.map((x) => x.p50), 2)} ms | +${range(r.map((x) => x.p99), 1)} ms | ${range(r.map((x) => x.eldMax ?? NaN), 1)} ms | ${range(r.map((x) => x.gc.count))} | ${range(r.map((x) => x.gc.pauseMs), 1)} ms | ${range(r.map((x) => x.gc.promotedMb), 2)} MB |`);
    }
  } finally {
    for (const s of list) {
      if (!s.kw) continue;
      await stopProcess(s.kw.proc);
      await s.kw.cleanup().catch(() => {});
    }
    await stopAll();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:ab failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
