/**
 * `npm run bench` [-- --quick] [-- --rounds N] [-- --profile]: what Keywallet costs against calling the
 * upstream directly and against the Node floor, each measured in its own process, interleaved over rounds
 * (A B C D A B C D) on 127.0.0.1. Prints one table, checks the targets of issue 19, writes
 * bench/results.json and bench/RESULTS.md. `--profile` instead runs Keywallet under --cpu-prof (profile.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Target } from './load';
import { forkServer, installCleanup, peakRssMb, rssMb, runJob, stopAll, stopProcess, treeCpuMicros, treeMb, BenchProcess } from './processes';
import { CORES, Keywallet, serversProblem, startKeywallet } from './keywallet';
import { dumpEventLoop } from './event-loop';
import { aggregate, checkTargets, GatewayFacts, GatewayName, Measurement, SCENARIOS, ScenarioName, TargetName, writeResults } from './report';
import { Durations, runScenario, verify, warmUp } from './scenarios';
import { runProfile } from './profile';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const roundsArg = args.find((a) => a.startsWith('--rounds'));
const defaultRounds = quick ? 1 : 2;
const rounds = Math.max(1, Number(roundsArg?.split('=')[1] ?? (roundsArg ? args[args.indexOf(roundsArg) + 1] : defaultRounds)) || defaultRounds);
/** Full: about 5 minutes; quick (a smoke run, not figures to quote): about 1 minute. */
const durations: Durations = quick ? { closedS: 2, openS: 1.5, streamS: 1.5, warmS: 1 } : { closedS: 10, openS: 5, streamS: 5, warmS: 3 };
/** `--targets floor,keywallet-embedded`: a subset (direct is always measured: added latency is against it). */
const targetsArg = args.find((a) => a.startsWith('--targets'));
const wanted = (targetsArg?.split('=')[1] ?? (targetsArg ? args[args.indexOf(targetsArg) + 1] : null))?.split(',') ?? null;
const wants = (name: string) => name === 'direct' || !wanted || wanted.includes(name);
const PAUSE_MS = 300;
const UPSTREAM_KEY = 'sk-bench-upstream-0000000000000000';

/** Module-level so Ctrl-C can drop their databases too. */
const keywallets: Keywallet[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Subject {
  target: Target;
  proc: BenchProcess | null;
  keywallet: Keywallet | null;
  requests: number;
  /** RSS after the warm-up, to tell a leak (growing over the rounds) from a large but flat footprint */
  rssAfterWarmUpMb: number | null;
}

function machine() {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` };
}

async function measure(subject: Subject, scenario: ScenarioName, round: number): Promise<Measurement> {
  await sleep(PAUSE_MS);
  const events0 = subject.keywallet ? await subject.keywallet.usageEventsWritten() : null;
  // the steady-rate runs: the gateway's event-loop delay, every process of it (bench/event-loop.ts)
  const kw = subject.keywallet;
  const steady = kw && (scenario === 'open400' || scenario === 'open1000');
  if (steady) await dumpEventLoop(kw.eldDir, kw.pids());
  const cpu0 = subject.proc ? treeCpuMicros(subject.proc.pid) : null;
  const result = await runScenario(scenario, subject.target, durations);
  const cpu1 = subject.proc ? treeCpuMicros(subject.proc.pid) : null;
  const eventLoop = steady ? await dumpEventLoop(kw.eldDir, kw.pids()) : null;
  await sleep(PAUSE_MS); // the batch writer flushes every 250 ms: let this run's tail land in this run
  const events1 = subject.keywallet ? await subject.keywallet.usageEventsWritten() : null;
  subject.requests += result.ok + result.failed;
  return {
    target: subject.target.name as TargetName,
    scenario,
    round,
    result,
    cpuMicros: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
    usageEvents: events0 === null || events1 === null ? null : events1 - events0,
    eventLoop,
  };
}

async function writerCapacity(kw: Keywallet, logDir: string): Promise<number | null> {
  const env: Record<string, string> = { BENCH_EVENTS: String(quick ? 10_000 : 50_000) };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-writer-'));
  if (kw.databaseUrl) env.BENCH_DATABASE_URL = kw.databaseUrl;
  else env.BENCH_DATA_DIR = dataDir;
  try {
    const result = await runJob<{ eventsPerSecond: number; written: number; events: number }>(`writer-capacity-${kw.backend}`, 'writer-capacity.ts', env, logDir);
    if (result.written !== result.events) say(`  warning: the writer bench recorded ${result.events} events but ${result.written} rows appeared`);
    return result.eventsPerSecond;
  } catch (err) {
    say(`  usage writer bench failed: ${(err as Error).message}`);
    return null;
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** All CPUs' time (ticks) and the part the hypervisor gave to someone else (steal), from /proc/stat; null off Linux. */
function cpuTicks(): { total: number; steal: number } | null {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return null;
  }
}

async function benchmark(logDir: string): Promise<void> {
  const started = Date.now();
  const ticksAtStart = cpuTicks();
  const loadAverageAtStart = os.loadavg().map((l) => Number(l.toFixed(2)));
  say(`Keywallet benchmark${quick ? ' (quick)' : ''}: ${rounds} round(s); closed ${durations.closedS} s, open ${durations.openS} s, streams ${durations.streamS} s per run`);
  say(`  load average ${loadAverageAtStart.join(' ')} on ${os.cpus().length} CPUs (all-cores run: WORKERS=${CORES})${loadAverageAtStart[0] > os.cpus().length / 2 ? ': the machine is busy, expect noise' : ''}`);
  const upstream = await forkServer('upstream', 'upstream.ts', {}, logDir);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const floor = await forkServer('floor', 'floor.ts', { UPSTREAM_URL: upstreamUrl, FLOOR_UPSTREAM_KEY: UPSTREAM_KEY }, logDir);
  const path_ = '/v1/chat/completions';
  const subjects: Subject[] = [
    { target: { name: 'direct', url: upstreamUrl + path_, headers: { authorization: `Bearer ${UPSTREAM_KEY}` } }, proc: null, keywallet: null, requests: 0, rssAfterWarmUpMb: null },
    { target: { name: 'floor', url: `http://127.0.0.1:${floor.port}${path_}`, headers: { authorization: 'Bearer client-key' } }, proc: floor, keywallet: null, requests: 0, rssAfterWarmUpMb: null },
  ].filter((s) => wants(s.target.name));
  const problem = wants('keywallet-postgres') ? await serversProblem() : null;
  if (problem) say(`  PostgreSQL + Redis run skipped: ${problem}`);
  // `cluster`: PostgreSQL + Redis with WORKERS = the cores (issue 19's all-cores row)
  const backends = (['postgres', 'cluster', 'embedded'] as const).filter((b) => wants(`keywallet-${b}`) && !(b !== 'embedded' && problem));
  try {
    for (const backend of backends) {
      const kw = await startKeywallet(backend, upstreamUrl, logDir);
      keywallets.push(kw);
      subjects.push({ target: { name: `keywallet-${backend}`, url: kw.url + path_, headers: { authorization: `Bearer ${kw.gatewayKey}` } }, proc: kw.proc, keywallet: kw, requests: 0, rssAfterWarmUpMb: null });
    }
    for (const s of subjects) {
      say(`  ${s.target.name.padEnd(20)} ${await verify(s.target)}`);
      s.requests += 2 + (await warmUp(s.target, durations));
      if (s.proc) s.rssAfterWarmUpMb = treeMb(s.proc.pid, rssMb);
    }
    const measurements: Measurement[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const scenario of Object.keys(SCENARIOS) as ScenarioName[]) {
        for (const s of subjects) {
          const m = await measure(s, scenario, round);
          measurements.push(m);
          const rps = m.result.ok / m.result.durationS;
          say(`  round ${round} ${scenario.padEnd(9)} ${s.target.name.padEnd(20)} ${rps.toFixed(0).padStart(6)} ok/s${m.result.failed ? `  ${m.result.failed} FAILED ${JSON.stringify(m.result.failures)}` : ''}`);
        }
      }
    }
    const facts: Partial<Record<GatewayName, GatewayFacts>> = {};
    for (const kw of keywallets) {
      const subject = subjects.find((s) => s.keywallet === kw)!;
      const name = `keywallet-${kw.backend}` as GatewayName;
      await sleep(1000);
      const written = await kw.usageEventsWritten();
      const peak = treeMb(kw.proc.pid, peakRssMb);
      const rssEndMb = treeMb(kw.proc.pid, rssMb);
      await stopProcess(kw.proc);
      const usageRows = (await kw.countUsageEvents()) ?? written;
      facts[name] = {
        peakRssMb: peak,
        rssAfterWarmUpMb: subject.rssAfterWarmUpMb ?? 0,
        rssEndMb,
        usageRows,
        requestsServed: subject.requests,
        // the writer bench measures PostgreSQL's side alone: the all-cores gateway has the same one
        writerEventsPerSecond: kw.backend === 'cluster' ? null : await writerCapacity(kw, logDir),
      };
    }
    const ticksAtEnd = cpuTicks();
    const stealPercent = ticksAtStart && ticksAtEnd ? Number(((100 * (ticksAtEnd.steal - ticksAtStart.steal)) / Math.max(1, ticksAtEnd.total - ticksAtStart.total)).toFixed(1)) : null;
    const cells = aggregate(measurements);
    const checks = checkTargets(cells, facts, CORES);
    const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
    const run = { command, machine: machine(), loadAverageAtStart, stealPercent, rounds, durations };
    const text = writeResults(__dirname, run, cells, facts, checks, measurements);
    say(`\n${text}\n`);
    say(`${checks.filter((c) => c.pass).length} of ${checks.length} targets met; ${((Date.now() - started) / 1000).toFixed(0)} s${stealPercent === null ? '' : `; ${stealPercent}% of CPU time stolen by the host`}`);
    say('wrote bench/results.json and bench/RESULTS.md');
  } finally {
    await stopKeywallets();
  }
}

async function stopKeywallets(): Promise<void> {
  for (const kw of keywallets.splice(0)) {
    await stopProcess(kw.proc);
    await kw.cleanup().catch((err: unknown) => say(`  cleanup of ${kw.backend} failed: ${(err as Error).message}`));
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.resolve(__dirname, '../dist/src/main.js'))) {
    process.stderr.write('bench: dist/src/main.js is missing: run `npm ci` (or `npm run build`) first\n');
    process.exit(1);
  }
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-logs-'));
  installCleanup(async () => {
    await stopKeywallets();
    await stopAll();
    if (!args.includes('--keep-logs')) fs.rmSync(logDir, { recursive: true, force: true });
  });
  let failed = false;
  try {
    if (args.includes('--profile')) await runProfile(logDir, quick, (kw) => keywallets.push(kw));
    else await benchmark(logDir);
  } catch (err) {
    failed = true;
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  } finally {
    await stopKeywallets();
    await stopAll();
    if (failed || args.includes('--keep-logs')) process.stderr.write(`logs kept in ${logDir}\n`);
    else fs.rmSync(logDir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

void main();
