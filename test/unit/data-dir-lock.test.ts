import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireDataDirLock, DataDirLockedError, LOCK_FILE_NAME, lockHolder } from '../../src/store/data-dir-lock';

const gateway = { kind: 'gateway', command: 'gateway' } as const;

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kwlock-'));
}

/** A PID that belonged to a process which has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

function writeLock(dir: string, info: Record<string, unknown>): void {
  fs.writeFileSync(path.join(dir, LOCK_FILE_NAME), JSON.stringify({ kind: 'gateway', command: 'gateway', hostname: os.hostname(), since: '2026-01-01T00:00:00.000Z', ...info }));
}

describe('DATA_DIR lock (14.13: one process at a time on the embedded database)', () => {
  it('refuses a second holder, naming the first one, until the first releases it', () => {
    const dir = tmpDir();
    const lock = acquireDataDirLock(dir, gateway);
    expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, kind: 'gateway' });
    expect(fs.statSync(lock.file).mode & 0o777).toBe(0o600);
    let refused: unknown;
    try {
      acquireDataDirLock(dir, { kind: 'cli', command: 'keys list' });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as DataDirLockedError).message).toContain(`PID ${process.pid}`);
    lock.describe({ url: 'http://127.0.0.1:8080' });
    expect(lockHolder(dir)).toMatchObject({ pid: process.pid, url: 'http://127.0.0.1:8080' });
    lock.release();
    expect(fs.existsSync(lock.file)).toBe(false);
    expect(lockHolder(dir)).toBeUndefined();
    acquireDataDirLock(dir, gateway).release();
  });

  it('refuses while another live process holds it, with that PID in the message', async () => {
    const dir = tmpDir();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeLock(dir, { pid: holder.pid });
      expect(() => acquireDataDirLock(dir, gateway)).toThrow(`DATA_DIR ${dir} is in use by a keywallet gateway (PID ${holder.pid}`);
      expect(fs.existsSync(path.join(dir, LOCK_FILE_NAME))).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // its process is gone: the lock is stale and taken over
    acquireDataDirLock(dir, gateway).release();
  });

  it('takes over a stale lock: a dead PID, our own PID from an earlier run (PID 1 in a container), a reused PID, or garbage', () => {
    const dir = tmpDir();
    for (const stale of [{ pid: deadPid() }, { pid: process.pid }, { pid: process.ppid, pidStart: '1' }]) {
      writeLock(dir, stale);
      const lock = acquireDataDirLock(dir, gateway);
      expect(JSON.parse(fs.readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
      lock.release();
    }
    fs.writeFileSync(path.join(dir, LOCK_FILE_NAME), 'not json');
    acquireDataDirLock(dir, gateway).release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('leaves a lock it does not hold in place when releasing', () => {
    const dir = tmpDir();
    const lock = acquireDataDirLock(dir, gateway);
    fs.rmSync(lock.file);
    writeLock(dir, { pid: process.ppid });
    lock.release();
    expect(lockHolder(dir)?.pid).toBe(process.ppid);
  });
});
