/**
 * `npm run bench -- --profile [--embedded] [--stream] [--quick]`: Keywallet under `node --cpu-prof`
 * while the closed-loop load runs (plain or streamed completions), then the hot spots: self time by
 * function, by file or package, and inclusive time of Keywallet's own functions. The .cpuprofile is kept in
 * bench/profiles/ (git-ignored) for Chrome DevTools or speedscope.
 * `--profile --alloc[=promoted]`: instead, what the gateway allocates per request at a steady 400 requests/s (V8's
 * sampling heap profiler, bench/alloc-probe.cjs) by package and by site, and every GC pause meanwhile: the p99
 * scenario. `=promoted` keeps only what survived a scavenge (what the old generation then has to hold).
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { closedLoop, closedLoopStreams, openLoop } from './load';
import { Keywallet, startKeywallet } from './keywallet';
import { forkServer, stopProcess } from './processes';
import { CHAT_BODY, STREAM_BODY, verify, warmUp } from './scenarios';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The part of the profile to count, in the profile's own microsecond clock. */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

const ROOT = path.resolve(__dirname, '..');

/** Where a frame lives: a Keywallet file, an npm package, node internals or V8's own buckets. */
function place(url: string): string {
  if (!url) return '(native/V8)';
  const file = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return `npm:${pkg[1]}`;
  if (file.startsWith('node:')) return file;
  return path.relative(ROOT, file);
}

const SYSCALLS = /^(writev|write\w*String|writeBuffer|readv?|open|close|fstat|fsync)$/;

/** Coarser than place(): Keywallet by folder, node internals by family, socket and file writes together. */
function area(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (!url) return SYSCALLS.test(functionName) ? '(system calls: socket and file I/O)' : functionName || '(native)';
  const where = place(url);
  const folder = /^dist\/src\/([^/]+)\//.exec(where);
  if (folder) return `keywallet: src/${folder[1]}/`;
  if (where.startsWith('dist/')) return 'keywallet: other';
  if (/^node:_?http/.test(where)) return 'node: http';
  if (/^node:internal\/streams|^node:stream/.test(where)) return 'node: streams';
  if (where.startsWith('node:')) return `node: ${where.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
  return where;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = place(url);
  if (!url) return functionName || '(anonymous)';
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
}

export function summarizeProfile(profile: CpuProfile, limit = 25, window?: ProfileWindow): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let clock = profile.startTime;
  profile.samples.forEach((id, i) => {
    clock += profile.timeDeltas[i] ?? 0;
    if (window && (clock < window.fromUs || clock > window.toUs)) return;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const selfByFrame = new Map<string, number>();
  const selfByPlace = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    busy += us;
    const name = frameName(node);
    selfByFrame.set(name, (selfByFrame.get(name) ?? 0) + us);
    const where = node.callFrame.url ? place(node.callFrame.url) : node.callFrame.functionName;
    selfByPlace.set(where, (selfByPlace.get(where) ?? 0) + us);
    const group = area(node);
    selfByArea.set(group, (selfByArea.get(group) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!;
      if (!place(frame.callFrame.url).startsWith('dist/')) continue;
      const key = frameName(frame);
      if (seen.has(key)) continue; // recursion counts once
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  return [
    `busy (non-idle) CPU time sampled: ${(busy / 1000).toFixed(0)} ms`,
    '',
    `Self time by function (top ${limit}):`,
    ...top(selfByFrame, busy, limit),
    '',
    'Self time by area (top 20):',
    ...top(selfByArea, busy, 20),
    '',
    'Self time by file or package (top 20):',
    ...top(selfByPlace, busy, 20),
    '',
    `Inclusive time of Keywallet's own functions (top ${limit}):`,
    ...top(inclusive, busy, limit),
  ].join('\n');
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children?: HeapNode[];
}

/** Allocation per request by package (or Keywallet folder) and by site, and the GC pauses of the window. */
export function summarizeAllocations(dump: { profile: { head: HeapNode } | null; gc: Record<string, number[]> | null; intervalBytes?: number }, requests: number, seconds: number, promoted: boolean): string {
  const lines: string[] = [];
  if (dump.profile) {
    const byArea = new Map<string, number>();
    const bySite = new Map<string, number>();
    let total = 0;
    const walk = (n: HeapNode) => {
      if (n.selfSize) {
        total += n.selfSize;
        const node = { id: 0, callFrame: n.callFrame } as ProfileNode;
        byArea.set(area(node), (byArea.get(area(node)) ?? 0) + n.selfSize);
        bySite.set(frameName(node), (bySite.get(frameName(node)) ?? 0) + n.selfSize);
      }
      for (const c of n.children ?? []) walk(c);
    };
    walk(dump.profile.head);
    const kb = (bytes: number) => `${(bytes / requests / 1024).toFixed(1).padStart(6)} KB/request`;
    const rows = (m: Map<string, number>, n: number) =>
      [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, bytes]) => `${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${kb(bytes)}  ${name}`);
    lines.push(
      `${promoted ? 'Promoted (survived a scavenge)' : 'Allocated'}: ${(total / 1e6).toFixed(0)} MB over ${requests} requests = ${(total / requests / 1024).toFixed(1)} KB per request (sampled every ${((dump.intervalBytes ?? 16384) / 1024).toFixed(0)} KB)`,
      '',
      'By area (top 20):',
      ...rows(byArea, 20),
      '',
      'By site (top 25):',
      ...rows(bySite, 25),
    );
  }
  for (const [kind, pauses] of Object.entries(dump.gc ?? {})) {
    const sorted = [...pauses].sort((a, b) => a - b);
    const sum = sorted.reduce((a, b) => a + b, 0);
    lines.push(
      `GC ${kind}: ${sorted.length} pauses in ${seconds} s (one every ${((seconds * 1000) / Math.max(1, sorted.length)).toFixed(0)} ms), median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(2) ?? '–'} ms, max ${sorted.at(-1)?.toFixed(2) ?? '–'} ms, ${sum.toFixed(0)} ms in all`,
    );
  }
  return lines.join('\n');
}

async function runAllocationProfile(logDir: string, quick: boolean, track: (kw: Keywallet) => void, backend: 'postgres' | 'embedded', promoted: boolean): Promise<void> {
  const seconds = quick ? 5 : 10;
  const upstream = await forkServer('upstream', 'upstream.ts', {}, logDir);
  const file = path.join(logDir, `alloc-${Date.now()}.json`);
  process.env.KW_ALLOC_FILE = file;
  process.env.KW_ALLOC_KIND = promoted ? 'promoted' : 'all';
  process.env.KW_ALLOC_INTERVAL ??= promoted ? '4096' : '16384';
  const kw = await startKeywallet(backend, `http://127.0.0.1:${upstream.port}`, logDir, { extraNodeArgs: ['-r', path.join(__dirname, 'alloc-probe.cjs')] });
  track(kw);
  const target = { name: kw.proc.name, url: `${kw.url}/v1/chat/completions`, headers: { authorization: `Bearer ${kw.gatewayKey}` } };
  process.stdout.write(`allocation profile of ${target.name} (${await verify(target)}) at a steady 400 requests/s for ${seconds} s\n`);
  await warmUp(target, { closedS: seconds, openS: 0, streamS: 0, warmS: 3 });
  const pid = kw.pids()[0];
  process.kill(pid, 'SIGTTIN');
  const result = await openLoop(target, CHAT_BODY, 400, seconds, false);
  process.kill(pid, 'SIGTTOU');
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  if (!fs.existsSync(file)) throw new Error(`the gateway wrote no allocation profile to ${file}`);
  await stopProcess(kw.proc);
  const dump = JSON.parse(fs.readFileSync(file, 'utf8'));
  process.stdout.write(`${result.ok} requests, ${result.failed} failed\n\n${summarizeAllocations(dump, result.ok, seconds, promoted)}\n`);
}

export async function runProfile(logDir: string, quick: boolean, track: (kw: Keywallet) => void): Promise<void> {
  const args = process.argv.slice(2);
  const alloc = args.find((a) => a.startsWith('--alloc'));
  if (alloc) return runAllocationProfile(logDir, quick, track, args.includes('--embedded') ? 'embedded' : 'postgres', alloc === '--alloc=promoted');
  const backend = args.includes('--embedded') ? 'embedded' : 'postgres';
  const stream = args.includes('--stream');
  const seconds = quick ? 5 : 15;
  const upstream = await forkServer('upstream', 'upstream.ts', {}, logDir);
  const profileDir = path.join(__dirname, 'profiles');
  fs.mkdirSync(profileDir, { recursive: true });
  // Profiles are megabytes each: keep the four latest besides the one about to be written.
  const old = fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => fs.statSync(path.join(profileDir, b)).mtimeMs - fs.statSync(path.join(profileDir, a)).mtimeMs);
  for (const f of old.slice(4)) fs.rmSync(path.join(profileDir, f));
  const name = `keywallet-${backend}${stream ? '-stream' : ''}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
  const kw = await startKeywallet(backend, `http://127.0.0.1:${upstream.port}`, logDir, {
    extraNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`],
  });
  track(kw);
  const target = { name: kw.proc.name, url: `${kw.url}/v1/chat/completions`, headers: { authorization: `Bearer ${kw.gatewayKey}` } };
  process.stdout.write(`profiling ${target.name} (${await verify(target)}) under ${stream ? 'streamed' : 'plain'} closed-loop load for ${seconds} s\n`);
  await warmUp(target, { closedS: seconds, openS: 0, streamS: 0, warmS: 2 });
  const loadStart = performance.now();
  const result = stream
    ? await closedLoopStreams(target, STREAM_BODY, 20, seconds)
    : await closedLoop(target, CHAT_BODY, 50, seconds);
  const loadEnd = performance.now();
  process.stdout.write(`${(result.ok / result.durationS).toFixed(0)} requests/s, ${result.failed} failed\n`);
  await stopProcess(kw.proc); // a graceful exit writes the profile
  const exitedAt = performance.now();
  const file = path.join(profileDir, name);
  if (!fs.existsSync(file)) throw new Error(`no profile was written to ${file}`);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  // Boot, set-up and warm-up are in the file too; count the measured load only (the profile ends at exit).
  const window = { fromUs: profile.endTime - (exitedAt - loadStart) * 1000, toUs: profile.endTime - (exitedAt - loadEnd) * 1000 };
  process.stdout.write(`\n${summarizeProfile(profile, 25, window)}\n\nprofile: ${path.relative(process.cwd(), file)} (the load ran in its last ${((exitedAt - loadStart) / 1000).toFixed(1)} s)\n`);
}
