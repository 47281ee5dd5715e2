import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * One process at a time in DATA_DIR. The embedded database (PGlite) keeps its state in WebAssembly memory and
 * writes its files back on its own schedule: a second process on the same folder (a second gateway, or a CLI
 * command next to a running gateway) overwrites the first one's writes without any error, and both lose data.
 * The lock is a file created atomically (link(2), which fails if the name exists) holding the holder's PID;
 * a lock whose process is gone (crash, SIGKILL, power loss) is taken over.
 */

export type LockHolderKind = 'gateway' | 'cli';

export interface LockInfo {
  pid: number;
  kind: LockHolderKind;
  /** what the holder is doing: `gateway`, or the CLI command line */
  command: string;
  hostname: string;
  since: string;
  /** Linux: the process's start time in clock ticks since boot, so that a reused PID is not taken for the holder */
  pidStart?: string;
  /** a gateway's address once it listens */
  url?: string;
}

export class DataDirLockedError extends Error {
  readonly code = 'data_dir_locked';
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    const who = holder.kind === 'gateway' ? 'a keywallet gateway' : `a keywallet CLI command (${holder.command})`;
    const where = holder.url ? `, listening on ${holder.url}` : '';
    super(`DATA_DIR ${dataDir} is in use by ${who} (PID ${holder.pid}${where}, since ${holder.since})`);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Adds to what the lock file says about its holder (a gateway's URL once it listens). */
  describe(extra: Partial<Pick<LockInfo, 'url'>>): void;
  release(): void;
}

export const LOCK_FILE_NAME = 'keywallet.lock';

/** Lock files this process holds: a lock naming our own PID is ours only if it is in here (else it is stale). */
const heldHere = new Set<string>();

/**
 * Takes the lock on dataDir (creating the folder) or throws DataDirLockedError naming the live holder.
 * The lock is released by `release()`, and on process exit as a safety net.
 */
export function acquireDataDirLock(dataDir: string, holder: { kind: LockHolderKind; command: string }): DataDirLock {
  const dir = path.resolve(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, LOCK_FILE_NAME);
  const info: LockInfo = {
    pid: process.pid,
    kind: holder.kind,
    command: holder.command,
    hostname: os.hostname(),
    since: new Date().toISOString(),
    pidStart: processStartTime(process.pid),
  };
  let written = JSON.stringify(info);
  // A few rounds: each either takes the lock, meets a live holder, or clears a stale lock for the next round.
  for (let round = 0; round < 20; round++) {
    if (linkNew(file, written)) {
      heldHere.add(file);
      const onExit = () => removeIfOurs(file, written);
      process.once('exit', onExit);
      return {
        file,
        describe(extra) {
          const next = JSON.stringify({ ...JSON.parse(written), ...extra });
          replace(file, next);
          written = next;
        },
        release() {
          process.removeListener('exit', onExit);
          removeIfOurs(file, written);
          heldHere.delete(file);
        },
      };
    }
    const current = readLock(file);
    if (current && isHeld(file, current.info)) throw new DataDirLockedError(dir, current.info);
    clearStale(file, current?.raw);
  }
  throw new Error(`could not take the lock ${file}: it keeps changing hands`);
}

/** Reads the holder of dataDir's lock, if a live process holds it (for messages; acquiring is what counts). */
export function lockHolder(dataDir: string): LockInfo | undefined {
  const file = path.join(path.resolve(dataDir), LOCK_FILE_NAME);
  const current = readLock(file);
  return current && isHeld(file, current.info) ? current.info : undefined;
}

/** Creates `file` with `content` unless it exists: written to a temporary name first, so it is never seen half-written. */
function linkNew(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function replace(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function readLock(file: string): { raw: string; info: LockInfo } | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const info = JSON.parse(raw) as LockInfo;
    return Number.isInteger(info.pid) && info.pid > 0 ? { raw, info } : { raw, info: { ...info, pid: 0 } };
  } catch {
    return { raw, info: { pid: 0, kind: 'gateway', command: 'unknown', hostname: '', since: 'unknown' } };
  }
}

/** Whether the process a lock names is still running (and is the one that took it). */
function isHeld(file: string, info: LockInfo): boolean {
  if (info.pid <= 0) return false;
  // our own PID: ours if this process took it; otherwise a previous run that had our PID (PID 1 in a container)
  if (info.pid === process.pid) return heldHere.has(file);
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: alive, owned by another user
  }
  const start = processStartTime(info.pid);
  return !(info.pidStart && start && start !== info.pidStart);
}

/**
 * Removes a stale lock, unless it changed since it was read. Stale-lock clearing is itself serialised by a
 * second lock file, so that two processes clearing the same stale lock cannot remove each other's fresh one.
 */
function clearStale(file: string, staleRaw: string | undefined): void {
  if (staleRaw === undefined) return; // gone already: the next round links
  const guard = `${file}.takeover`;
  if (!linkNew(guard, JSON.stringify({ pid: process.pid, pidStart: processStartTime(process.pid) }))) {
    const other = readLock(guard);
    // someone else is clearing it: give them a moment, the next round sees the result
    if (other && isHeld(guard, other.info)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    else fs.rmSync(guard, { force: true });
    return;
  }
  try {
    if (readLock(file)?.raw === staleRaw) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function removeIfOurs(file: string, written: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === written) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may contain spaces). */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
