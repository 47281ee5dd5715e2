import cluster, { Worker } from 'node:cluster';
import type { Config } from '../config';
import { createLogger, Logger } from '../logger';
import { createDatabase, Db } from '../store/db';
import { acquireDataDirLock, DataDirLock } from '../store/data-dir-lock';
import { initSodium } from '../wallet/crypto';
import { prepareDatabase } from '../deps';
import { ensureFirstAdmin } from '../auth/bootstrap';
import { startMetricsListener } from '../metrics/server';
import { ClusterMetrics } from './metrics';
import { isMessage, MetricsJson, ToPrimary, ToWorker } from './protocol';
import { adoptOrphanSpools } from './role';

/** A worker that lived this long is stable: its next exit is replaced at once, not after a backoff. */
const STABLE_AFTER_MS = 30_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** how long a worker has to send its metrics to a scrape; one that does not is left out of that scrape */
const COLLECT_TIMEOUT_MS = 3_000;

interface Slot {
  n: number;
  worker: Worker | null;
  startedAt: number;
  /** consecutive exits of workers that did not live STABLE_AFTER_MS */
  failures: number;
  ready: boolean;
  restartTimer: NodeJS.Timeout | null;
  /** the last metrics it sent: kept for its counters when it exits */
  lastMetrics?: MetricsJson;
}

/** A worker exited before the cluster was up (bad configuration, port taken): the primary exits with its code. */
export class WorkerStartError extends Error {
  constructor(
    readonly slot: number,
    readonly exitCode: number,
  ) {
    super(`worker ${slot} exited with code ${exitCode} while starting`);
    this.name = 'WorkerStartError';
  }
}

export interface RunningCluster {
  url: string;
  shutdown(reason?: string): Promise<number>;
}

/**
 * The cluster primary (WORKERS > 1): prepares the database once (migrations, seeds, audit sealing, the first admin
 * from KEYWALLET_ADMIN_EMAIL), forks WORKERS gateway processes that share the port (node:cluster, connections handed
 * out round-robin), serves METRICS_PORT with every process aggregated, replaces a worker that exits (at once, then
 * with a backoff doubling up to 30 s while it keeps dying young), and on SIGTERM / SIGINT drains every worker.
 * It holds DATA_DIR's lock for the whole cluster; it serves no request itself. See src/cluster/role.ts.
 */
export async function startPrimary(config: Config): Promise<RunningCluster> {
  const logger = createLogger(config.logLevel).child({ role: 'primary' });
  for (const w of config.warnings) logger.warn(w);
  const lock = acquireDataDirLock(config.dataDir, { kind: 'gateway', command: `gateway (cluster primary of ${config.workers} workers)` });
  let db: Db | undefined;
  try {
    adoptOrphanSpools(config.dataDir, config.workers, logger);
    await initSodium();
    db = await createDatabase({ url: config.databaseUrl, poolMax: 2 });
    await prepareDatabase(db, config, logger);
    // before the workers serve, so a login never races it; on PostgreSQL no password is generated (nothing to lose)
    await ensureFirstAdmin(db, { bootstrapAdmin: config.bootstrapAdmin, embedded: false }, logger);
    await db.destroy();
  } catch (err) {
    await db?.destroy().catch(() => {});
    lock.release();
    throw err;
  }
  const primary = new Primary(config, logger, lock);
  try {
    const url = await primary.start();
    await primary.listenMetrics();
    lock.describe({ url });
    logger.info({ url, database: 'postgres', store: 'redis', workers: config.workers }, 'keywallet listening');
    return { url, shutdown: (reason) => primary.shutdown(reason) };
  } catch (err) {
    await primary.shutdown('start failed');
    throw err;
  }
}

class Primary {
  private readonly slots: Slot[];
  private readonly metrics = new ClusterMetrics();
  private stopping: Promise<number> | null = null;
  private starting: { resolve(url: string): void; reject(err: Error): void; url?: string } | null = null;
  private nextRequest = 1;
  private readonly collecting = new Map<number, { slot: Slot; done(metrics: MetricsJson | null): void }>();
  private closeMetricsListener: (() => Promise<void>) | null = null;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly lock: DataDirLock,
  ) {
    this.slots = Array.from({ length: config.workers }, (_, i) => ({ n: i + 1, worker: null, startedAt: 0, failures: 0, ready: false, restartTimer: null }));
  }

  /** Forks every worker; resolves with the URL once all of them listen, rejects if one exits first. */
  start(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.starting = { resolve, reject };
      for (const slot of this.slots) this.fork(slot);
    });
  }

  async listenMetrics(): Promise<void> {
    if (!this.config.metricsListener) return;
    const source = { contentType: this.metrics.registry.contentType, metrics: () => this.render() };
    const listener = await startMetricsListener(source, { ...this.config.metricsListener, token: this.config.metricsToken });
    this.closeMetricsListener = () => listener.close();
    this.logger.info({ url: listener.url }, 'metrics listening (METRICS_PORT), every worker aggregated');
  }

  /** Drains every worker (each stops accepting, finishes in-flight requests, flushes its usage events); the exit code. */
  shutdown(reason = 'shutdown'): Promise<number> {
    this.stopping ??= (async () => {
      this.logger.info({ reason, workers: this.slots.filter((s) => s.worker).length }, 'shutting down: draining every worker');
      for (const slot of this.slots) {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        slot.restartTimer = null;
      }
      const live = this.slots.map((s) => s.worker).filter((w): w is Worker => w !== null);
      const exits = live.map((w) => new Promise<number>((resolve) => {
        if (w.process.exitCode !== null || w.process.signalCode !== null) return resolve(w.process.exitCode ?? 1);
        w.once('exit', (code: number | null) => resolve(code ?? 1));
      }));
      // a worker still starting has no handler yet: SIGTERM ends it (it has served nothing); the others drain
      for (const slot of this.slots) {
        const w = slot.worker;
        if (w && !(slot.ready && this.tell(w, { kw: 'shutdown', reason }))) w.process.kill('SIGTERM');
      }
      // each worker has SHUTDOWN_TIMEOUT_MS for its requests and USAGE_CLOSE_TIMEOUT_MS for its ledger
      const graceMs = this.config.shutdownTimeoutMs + this.config.usageLedger.closeTimeoutMs + 5_000;
      const killer = setTimeout(() => {
        for (const w of live) {
          if (w.process.exitCode === null && w.process.signalCode === null) {
            this.logger.error({ pid: w.process.pid }, 'worker still running after the shutdown grace period: killed');
            w.process.kill('SIGKILL');
          }
        }
      }, graceMs);
      const codes = await Promise.all(exits);
      clearTimeout(killer);
      await this.closeMetricsListener?.().catch(() => {});
      this.lock.release();
      const failed = codes.filter((c) => c !== 0).length;
      if (failed) this.logger.warn({ failed }, 'shutdown complete; some workers did not exit cleanly');
      else this.logger.info('shutdown complete');
      return failed ? 1 : 0;
    })();
    return this.stopping;
  }

  private fork(slot: Slot): void {
    slot.restartTimer = null;
    slot.ready = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ KEYWALLET_CLUSTER_WORKER: String(slot.n) });
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (isMessage(message)) this.onMessage(slot, worker, message as ToPrimary);
    });
    worker.once('exit', (code: number | null, signal: string | null) => this.onExit(slot, worker, code, signal));
  }

  private onMessage(slot: Slot, worker: Worker, m: ToPrimary): void {
    if (m.kw === 'ready') {
      slot.ready = true;
      this.metrics.workersUp.set(this.slots.filter((s) => s.ready).length);
      if (this.starting) {
        this.starting.url ??= m.url;
        if (this.slots.every((s) => s.ready)) {
          this.starting.resolve(this.starting.url);
          this.starting = null;
        }
      } else {
        this.logger.info({ worker: slot.n, pid: worker.process.pid }, 'replacement worker listening');
      }
    } else if (m.kw === 'collected') {
      const waiting = this.collecting.get(m.id);
      if (waiting?.slot === slot) waiting.done(m.metrics ?? null);
    } else if (m.kw === 'scrape') {
      this.render().then(
        (text) => this.tell(worker, { kw: 'scraped', id: m.id, text }),
        (err: Error) => this.tell(worker, { kw: 'scraped', id: m.id, error: err.message }),
      );
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.ready = false;
    this.metrics.workersUp.set(this.slots.filter((s) => s.ready).length);
    this.metrics.retire(slot.lastMetrics);
    slot.lastMetrics = undefined;
    if (this.stopping) return;
    if (this.starting) {
      // a worker that cannot start (configuration, port taken, database unreachable): the cluster does not start
      this.logger.error({ worker: slot.n, pid: worker.process.pid, code, signal }, 'worker exited while starting: stopping the cluster');
      const starting = this.starting;
      this.starting = null;
      starting.reject(new WorkerStartError(slot.n, code ?? 1));
      return;
    }
    const livedMs = Date.now() - slot.startedAt;
    slot.failures = livedMs >= STABLE_AFTER_MS ? 1 : slot.failures + 1;
    const delayMs = slot.failures <= 1 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (slot.failures - 2));
    this.metrics.restarts.labels(signal ?? `exit_${code ?? 'unknown'}`).inc();
    this.logger.error(
      { worker: slot.n, pid: worker.process.pid, code, signal, livedMs, restartInMs: delayMs, consecutiveFailures: slot.failures },
      delayMs ? 'worker exited again soon after starting: replacing it after a backoff' : 'worker exited unexpectedly: replacing it',
    );
    slot.restartTimer = setTimeout(() => {
      if (!this.stopping) this.fork(slot);
    }, delayMs);
  }

  /** Every process's metrics, aggregated (ClusterMetrics). */
  private async render(): Promise<string> {
    const snapshots = await Promise.all(this.slots.map((slot) => this.collect(slot)));
    return this.metrics.render(snapshots.filter((s): s is MetricsJson => s !== null));
  }

  private collect(slot: Slot): Promise<MetricsJson | null> {
    const worker = slot.worker;
    if (!worker || !slot.ready) return Promise.resolve(null);
    const id = this.nextRequest++;
    return new Promise<MetricsJson | null>((resolve) => {
      const timer = setTimeout(() => done(null), COLLECT_TIMEOUT_MS);
      const done = (metrics: MetricsJson | null) => {
        clearTimeout(timer);
        this.collecting.delete(id);
        if (metrics && slot.worker === worker) slot.lastMetrics = metrics;
        resolve(metrics);
      };
      this.collecting.set(id, { slot, done });
      if (!this.tell(worker, { kw: 'collect', id })) done(null);
    });
  }

  private tell(worker: Worker, message: ToWorker): boolean {
    if (!worker.isConnected()) return false;
    try {
      worker.send(message);
      return true;
    } catch {
      return false;
    }
  }
}
