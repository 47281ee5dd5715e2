import type { Config } from './config';
import { Clock, systemClock } from './clock';
import { createLogger, Logger } from './logger';
import { createDatabase, Db, migrateLatest } from './store/db';
import { acquireDataDirLock, DataDirLock, LockHolderKind } from './store/data-dir-lock';
import type { KvStore } from './store/kv';
import { MemoryKvStore } from './store/memory-kv';
import { RedisKvStore } from './store/redis-kv';
import { createMetrics, Metrics } from './metrics/metrics';
import { runBuiltinSeeds } from '../seeds/builtin';
import { initSodium } from './wallet/crypto';
import { ServiceRegistry } from './services/registry';
import { WalletService } from './wallet/service';
import { createRouter } from './routing/create';
import type { Router } from './routing/router';
import { LlmCatalog } from './llm/catalog';
import type { UsageWriter } from './usage/writer';
import { createUsageLedger } from './usage/ledger';
import { createGatewayKeyVerifier, GatewayKeyVerifier } from './keys/verify';
import { createLimitService, LimitService } from './limits/service';
import { ConsoleSessions } from './auth/console-sessions';
import { ResilientCounters } from './limits/resilient-counters';
import { parseMasterKeys } from './wallet/crypto';
import { bindAuditKeys, deriveAuditKeys } from './audit/chain';
import { sealUnkeyedAuditRows } from './audit/audit';
import { AuditCheckpointer } from './audit/checkpoint';
import type { BudgetObserver } from './alerts/types';
import type { AlertService } from './alerts/service';
import { createAlerts } from './alerts/create';
import type { WebhookDeliverer } from './webhooks/deliverer';
import { adoptOrphanSpools, runsClusterJobs } from './cluster/role';

/** Everything the app needs, built once at boot (or once per test file) and passed down explicitly. */
export interface Deps {
  config: Config;
  logger: Logger;
  clock: Clock;
  db: Db;
  kv: KvStore;
  metrics: Metrics;
  // capability services: one field each (construction below, at the matching anchor)
  /** rate limits and credit budgets: admit / settle / refund around every gateway call (limits/service.ts) */
  limits: LimitService;
  /** the usage ledger: durable log (Redis stream / spool file) → PostgreSQL, with daily rollups and retention (usage/) */
  usage: UsageWriter;
  /** gateway-key verification and the /v1 + /proxy guard (keys/verify.ts) */
  keys: GatewayKeyVerifier;
  /** the upstream services, cached in memory and reloaded on 'services:changed' (services/registry.ts) */
  services: ServiceRegistry;
  /** provider secrets sealed at rest: CRUD, import, and openSecret for the request path (wallet/service.ts) */
  wallet: WalletService;
  /** picks the wallet entry for each upstream call, with quotas, cooldowns and fallback (routing/router.ts) */
  router: Router;
  /** model aliases and prices in memory (reloaded on 'aliases:changed'): model resolution and pricing (llm/catalog.ts) */
  llm: LlmCatalog;
  /** the web console's server-side cookie sessions and their CSRF tokens (auth/console-sessions.ts) */
  consoleSessions: ConsoleSessions;
  /** budget alerts and wallet events: fired once per period across nodes, to webhooks, the audit log and a metric (alerts/service.ts) */
  alerts: AlertService;
  /** where budgets report their levels after a call settles: the alert service (alerts/types.ts) */
  budgetObserver: BudgetObserver;
  /** signed webhook deliveries with retries, claimed by one node at a time (webhooks/deliverer.ts) */
  webhooks: WebhookDeliverer;
  /** published checkpoints (count + head hash) of the keyed audit chain: log line, gauge, GET /audit/head */
  audit: AuditCheckpointer;
  /** this process's hold on DATA_DIR (the embedded database, the usage spool): one process at a time (store/data-dir-lock.ts) */
  dataDirLock?: DataDirLock;
  /** run on shutdown after the server stops accepting requests, in reverse order of registration */
  closers: (() => Promise<void>)[];
}

export interface DepsOverrides {
  logger?: Logger;
  clock?: Clock;
  db?: Db;
  kv?: KvStore;
  /** PGlite directory for the embedded default; tests pass nothing to keep it in memory */
  pgliteDir?: string | null;
  kvPrefix?: string;
  /** the usage spool's folder (default DATA_DIR/usage-spool); tests give each gateway its own */
  usageSpoolDir?: string;
  /** who takes the DATA_DIR lock on the embedded database (the gateway by default; the CLI names its command) */
  lockHolder?: { kind: LockHolderKind; command: string };
}

export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<Deps> {
  const embeddedDir = config.databaseUrl || overrides.db || overrides.pgliteDir === null ? undefined : overrides.pgliteDir ?? config.dataDir;
  const holder = overrides.lockHolder ?? { kind: 'gateway', command: 'gateway' };
  // One process per DATA_DIR, taken before anything opens it: a second PGlite on the folder would silently undo
  // the first one's writes, and a second usage spool would replay and delete the first one's segments. So a
  // gateway holds it on both backends (its spool is there unless given elsewhere); the CLI only on the embedded
  // database, since on PostgreSQL it runs beside the gateways (and keeps no spool there: see scripts/cli.ts).
  const spoolInDataDir = holder.kind === 'gateway' && !overrides.usageSpoolDir;
  const lockDir = embeddedDir ?? (spoolInDataDir ? config.dataDir : undefined);
  const lock = lockDir ? acquireDataDirLock(lockDir, holder) : undefined;
  try {
    // WORKERS was higher before: the spools of worker slots gone are replayed by this one (src/cluster/role.ts)
    if (lock && spoolInDataDir) adoptOrphanSpools(config.dataDir, 1);
    return await buildDeps(config, overrides, embeddedDir, lock);
  } catch (err) {
    lock?.release();
    throw err;
  }
}

async function buildDeps(config: Config, overrides: DepsOverrides, embeddedDir: string | undefined, lock: DataDirLock | undefined): Promise<Deps> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  await initSodium();
  const db = overrides.db ?? (await createDatabase({ url: config.databaseUrl, poolMax: config.databasePoolMax, dataDir: embeddedDir, pgliteThread: config.pgliteThread }));
  const kv: KvStore =
    overrides.kv ?? (config.redisUrl ? new RedisKvStore(config.redisUrl, overrides.kvPrefix ?? 'kw:') : new MemoryKvStore());
  if (!config.databaseUrl && !overrides.db) logger.info('DATABASE_URL not set: using embedded PGlite');
  if (kv.kind === 'memory') logger.warn('REDIS_URL not set: counters and caches are in-process (single node only)');

  // a cluster worker finds the database prepared by the primary, which ran this before forking (src/cluster/)
  if (config.clusterWorker === undefined) await prepareDatabase(db, config, logger);
  else bindAuditKeys(db, deriveAuditKeys(parseMasterKeys(config.masterKeys))); // before anything writes an audit row
  const clusterJobs = runsClusterJobs(config);

  // capability services are assigned below, at their anchor
  const deps = {
    config,
    logger,
    clock: overrides.clock ?? systemClock,
    db,
    kv,
    metrics: createMetrics(),
    dataDirLock: lock,
    closers: [] as Deps['closers'],
  } as Deps;
  // closed in reverse: the lock goes last, once the database has written its files back
  if (lock) deps.closers.push(async () => lock.release());
  deps.closers.push(() => db.destroy(), () => kv.close());
  // capability services: construct each here, in dependency order, one or two lines each
  // alerts first: the wallet, the router and the budgets report to it
  ({ alerts: deps.alerts, deliverer: deps.webhooks } = createAlerts(deps, { deliver: (overrides.lockHolder?.kind ?? 'gateway') === 'gateway' }));
  deps.budgetObserver = deps.alerts;
  deps.services = await ServiceRegistry.start(deps);
  deps.wallet = await WalletService.start({ ...deps, walletEvents: deps.alerts });
  // the request path's one Redis outage guard (timeout, circuit, per-node fallback), shared by limits and routing
  const counters = new ResilientCounters(kv, logger);
  deps.router = await createRouter({ ...deps, counters, walletEvents: deps.alerts });
  deps.llm = await LlmCatalog.start(deps);
  deps.limits = await createLimitService(deps, undefined, counters);
  deps.closers.push(() => deps.limits.close());
  deps.usage = createUsageLedger({ ...deps, spoolDir: overrides.usageSpoolDir, redisAvailable: () => !counters.degraded });
  deps.closers.push(() => deps.usage.close()); // before db.destroy and kv.close: writes what it can, the rest stays durable
  if (!clusterJobs) void deps.usage.retention.stop(); // the daily retention job: once per cluster (worker 1)
  deps.keys = await createGatewayKeyVerifier(deps);
  deps.consoleSessions = new ConsoleSessions(db, deps.clock, { ...config.consoleSession, secret: config.jwt.secret });
  deps.audit = new AuditCheckpointer(deps);
  if (clusterJobs) {
    // once per cluster (worker 1 with WORKERS > 1); every worker still answers GET /audit/head on demand
    await deps.audit.publish();
    deps.audit.start();
    deps.closers.push(async () => deps.audit.stop());
  }
  return deps;
}

/**
 * What a database needs before a gateway serves from it: migrations, the audit keys bound (before anything writes an
 * audit row), rows written before the chain was keyed sealed, built-in seeds. Once per boot: by the gateway, or by
 * the cluster primary before it forks its workers.
 */
export async function prepareDatabase(db: Db, config: Config, logger: Logger): Promise<void> {
  const applied = await migrateLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
  bindAuditKeys(db, deriveAuditKeys(parseMasterKeys(config.masterKeys)));
  const sealed = await sealUnkeyedAuditRows(db);
  if (sealed) logger.warn(sealed, 'audit log: rows written before the chain was keyed are now sealed by a keyed row');
  await runBuiltinSeeds(db);
}

export async function closeDeps(deps: Deps): Promise<void> {
  for (const close of [...deps.closers].reverse()) {
    try {
      await close();
    } catch (err) {
      deps.logger.error({ err }, 'error while closing a dependency');
    }
  }
}
