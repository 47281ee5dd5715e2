/**
 * Every process the benchmark starts goes through here, so each one is stopped at the end, on a failure
 * and on Ctrl-C. Each measured server runs in its own process; its CPU time and peak RSS are read from
 * /proc/<pid>, which counts the process alone and costs it nothing.
 */
import { ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface BenchProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
}

const running = new Set<ChildProcess>();

function ticksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}
const TICKS_PER_SECOND = ticksPerSecond();

/** User + system CPU time the process has used so far, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1e6) / TICKS_PER_SECOND;
}

function statusKb(pid: number, field: string): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

/** The process and every process it started, still running (a cluster primary and its workers), from /proc. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** CPU time of the process and of its running children together (a cluster: the primary and every worker). */
export function treeCpuMicros(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    try {
      return sum + cpuMicros(p);
    } catch {
      return sum; // exited meanwhile
    }
  }, 0);
}

/** Summed over the process tree: a cluster's footprint is every process's (the peak is an upper bound: peaks of each). */
export function treeMb(pid: number, of: (pid: number) => number): number {
  return processTree(pid).reduce((sum, p) => {
    try {
      return sum + of(p);
    } catch {
      return sum;
    }
  }, 0);
}

/** Peak resident set size since the process started (VmHWM), in MiB. */
export function peakRssMb(pid: number): number {
  return statusKb(pid, 'VmHWM') / 1024;
}

/** Resident set size now (VmRSS), in MiB. */
export function rssMb(pid: number): number {
  return statusKb(pid, 'VmRSS') / 1024;
}

export function logTail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function track(name: string, child: ChildProcess, logFile: string): BenchProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  return { name, pid: child.pid, logFile, child };
}

function openLog(logDir: string, name: string): { file: string; fd: number } {
  const file = path.join(logDir, `${name}.log`);
  // fork() needs a file descriptor, so a log file, never a pipe the orchestrator would have to drain
  return { file, fd: fs.openSync(file, 'a') };
}

/**
 * Forks a TypeScript file of bench/ (through tsx's loader, in the same node process, so the pid is the
 * server's) and waits for it to report `{type: 'ready', port}` over IPC.
 */
export async function forkServer(name: string, script: string, env: Record<string, string>, logDir: string): Promise<BenchProcess & { port: number }> {
  const log = openLog(logDir, name);
  const child = fork(path.join(__dirname, script), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', log.fd, log.fd, 'ipc'],
  });
  fs.closeSync(log.fd);
  const proc = track(name, child, log.file);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not report ready within 30 s:\n${logTail(log.file)}`)), 30_000);
    child.once('message', (message: { type?: string; port?: number }) => {
      clearTimeout(timer);
      if (message.type === 'ready' && message.port) resolve(message.port);
      else reject(new Error(`${name} sent an unexpected first message`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${logTail(log.file)}`));
    });
  });
  return { ...proc, port };
}

/** Forks a one-shot bench/ job and resolves with the `{type: 'result'}` message it sends before exiting. */
export async function runJob<T>(name: string, script: string, env: Record<string, string>, logDir: string, timeoutMs = 120_000): Promise<T> {
  const log = openLog(logDir, name);
  const child = fork(path.join(__dirname, script), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', log.fd, log.fd, 'ipc'],
  });
  fs.closeSync(log.fd);
  const proc = track(name, child, log.file);
  return new Promise<T>((resolve, reject) => {
    let result: T | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('message', (message: { type?: string }) => {
      if (message.type === 'result') result = message as T;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else reject(new Error(`${proc.name} exited (${code}) without a result:\n${logTail(proc.logFile)}`));
    });
  });
}

/** Spawns a plain node process (Keywallet from dist/) with its output going to a log file, never a pipe. */
export function spawnNode(name: string, args: string[], env: Record<string, string>, logDir: string, cwd: string): BenchProcess {
  const log = openLog(logDir, name);
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', log.fd, log.fd] });
  fs.closeSync(log.fd);
  return track(name, child, log.file);
}

/** SIGTERM (a graceful shutdown: Keywallet flushes its usage events, --cpu-prof writes its profile), then SIGKILL. */
export async function stopProcess(proc: BenchProcess, timeoutMs = 15_000): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess({ name: '', pid: child.pid ?? 0, logFile: '', child })));
}

/** On Ctrl-C or a crash of the orchestrator, no server is left behind. */
export function installCleanup(onSignal: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\nbench: ${signal}, stopping every process…\n`);
      onSignal().finally(() => process.exit(130));
    });
  }
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
