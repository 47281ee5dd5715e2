import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A child's environment: the defaults, then `env`, where an undefined value removes the variable. */
function childEnv(defaults: Record<string, string>, env: Record<string, string | undefined>): Record<string, string> {
  const merged: Record<string, string | undefined> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...defaults, ...env };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Runs the real entry point (src/main.ts through tsx) in a child process and waits until it listens (generously: CI machines are shared). */
export async function spawnGateway(env: Record<string, string | undefined>, timeoutMs = 150_000): Promise<GatewayProcess> {
  // a DATA_DIR of its own unless given: one gateway at a time may hold one (the usage spool is there on every backend)
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kwgw-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    // one process unless a test asks for more: on PostgreSQL + Redis, WORKERS would default to the number of cores
    env: childEnv({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: dataDir, WORKERS: '1' }, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start in time:\n${out}`));
    }, timeoutMs);
    const onData = () => {
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*keywallet listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

export interface ExitedProcess {
  code: number | null;
  output: string;
  stdout: string;
}

/** Runs the entry point expecting it to exit (bad configuration); returns its code and output. */
export function runGatewayToExit(env: Record<string, string | undefined>): Promise<ExitedProcess> {
  // a DATA_DIR of its own unless given, as spawnGateway: never the repository's ./data, which other tests' gateways may hold
  return runToExit(path.join(ROOT, 'src/main.ts'), [], childEnv({ PORT: '0', WORKERS: '1', DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'kwgw-')) }, env));
}

/** Runs the CLI (scripts/cli.ts through tsx) to its end, with `stdin` as its standard input (empty by default). */
export function runCli(args: string[], env: Record<string, string | undefined>, stdin = ''): Promise<ExitedProcess> {
  return runToExit(path.join(ROOT, 'scripts/cli.ts'), args, childEnv({ LOG_LEVEL: 'warn' }, env), stdin);
}

function runToExit(entry: string, args: string[], env: Record<string, string>, stdin?: string): Promise<ExitedProcess> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: ROOT,
      env,
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
    let stdout = '';
    let output = '';
    child.stdout!.on('data', (d) => {
      output += d;
      stdout += d;
    });
    child.stderr!.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, stdout });
    });
  });
}
