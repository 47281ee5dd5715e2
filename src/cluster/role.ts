import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../logger';

/**
 * What a process of the gateway is for, with WORKERS > 1 (src/cluster/primary.ts):
 * - the primary, before it forks: migrations, built-in seeds, sealing audit rows written before the chain was
 *   keyed, the first admin from KEYWALLET_ADMIN_EMAIL (PostgreSQL: no password is ever generated). It holds
 *   the DATA_DIR lock, serves METRICS_PORT (every process aggregated) and replaces a worker that dies.
 * - worker 1 (the slot, not a pid: its replacement is worker 1 again): the once-per-cluster background jobs — the
 *   audit checkpointer and the usage retention job. Code adding such a job starts it only where
 *   `runsClusterJobs(config)` is true.
 * - every worker: the HTTP server (one port, shared by node:cluster), its own database pool, Redis connections,
 *   usage spool (DATA_DIR/usage-spool for worker 1, DATA_DIR/usage-spool-<n> for worker n) and a consumer of its own
 *   in the usage stream's consumer group, exactly as separate nodes.
 * A single process (WORKERS=1) is all three.
 */
export function runsClusterJobs(config: Pick<Config, 'clusterWorker'>): boolean {
  return config.clusterWorker === undefined || config.clusterWorker === 1;
}

/** The usage spool of worker `slot`; slot 1's is the single process's, so changing WORKERS keeps it. */
export function usageSpoolDir(dataDir: string, slot: number): string {
  return path.join(dataDir, slot <= 1 ? 'usage-spool' : `usage-spool-${slot}`);
}

const SEGMENT = /^usage-(\d{12})\.log$/;
const SLOT_DIR = /^usage-spool-(\d+)$/;

/**
 * After WORKERS went down, the spools of the slots that no longer exist still hold events (a worker killed, or
 * closed before the database took everything). Their segments move into worker 1's spool, numbered after its own,
 * so it replays them (inserts are idempotent by event id). Call only while holding the DATA_DIR lock, before any
 * spool is open. Returns the number of segment files moved.
 */
export function adoptOrphanSpools(dataDir: string, workers: number, logger?: Logger): number {
  let entries: string[];
  try {
    entries = fs.readdirSync(dataDir);
  } catch {
    return 0;
  }
  const target = usageSpoolDir(dataDir, 1);
  let moved = 0;
  for (const name of entries) {
    const slot = SLOT_DIR.exec(name);
    if (!slot || Number(slot[1]) <= workers) continue;
    const dir = path.join(dataDir, name);
    const segments = fs
      .readdirSync(dir)
      .filter((f) => SEGMENT.test(f))
      .sort();
    if (segments.length) {
      fs.mkdirSync(target, { recursive: true, mode: 0o700 });
      let next = Math.max(0, ...fs.readdirSync(target).map((f) => Number(SEGMENT.exec(f)?.[1] ?? 0))) + 1;
      for (const f of segments) {
        fs.renameSync(path.join(dir, f), path.join(target, `usage-${String(next++).padStart(12, '0')}.log`));
        moved++;
      }
      logger?.info({ from: dir, to: target, segments: segments.length }, 'usage spool of a worker slot no longer configured: its events move to worker 1');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return moved;
}
