import http from 'node:http';
import cluster from 'node:cluster';
import { loadConfig, ConfigError, Config } from './config';
import { createDeps, closeDeps, Deps, DepsOverrides } from './deps';
import { createLogger } from './logger';
import { buildApp } from './app';
import { ensureFirstAdmin } from './auth/bootstrap';
import { startMetricsListener } from './metrics/server';
import { DataDirLockedError } from './store/data-dir-lock';
import { startPrimary, WorkerStartError } from './cluster/primary';
import { runAsWorker } from './cluster/worker';
import { usageSpoolDir } from './cluster/role';

export interface RunningGateway {
  server: http.Server;
  deps: Deps;
  url: string;
  shutdown(reason?: string): Promise<void>;
}

/** The address could not be bound: a configuration problem (exit 78), not a crash. */
export class ListenError extends Error {
  readonly code = 'listen_failed';
  constructor(host: string, port: number, errno: string | undefined) {
    const why =
      errno === 'EADDRINUSE'
        ? `port ${port} is already in use on ${host} (another gateway, or another program): stop it, or set PORT to a free port`
        : errno === 'EACCES'
          ? `not allowed to listen on ${host}:${port} (ports below 1024 need privileges): set PORT above 1023`
          : errno === 'EADDRNOTAVAIL'
            ? `HOST ${host} is not an address of this machine: set HOST to one (127.0.0.1, or 0.0.0.0 for every interface)`
            : `cannot listen on ${host}:${port} (${errno ?? 'unknown error'})`;
    super(why);
    this.name = 'ListenError';
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(new ListenError(host, port, err.code));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Boots the gateway: config → deps → app → listen → first admin. Resolves once listening. The port is bound
 * before the first admin is created, so a busy port fails before a password is generated and printed (and lost).
 * In a cluster worker (config.clusterWorker, src/cluster/) the primary creates the first admin and serves
 * METRICS_PORT; the worker has a usage spool of its own and logs with its slot.
 */
export async function start(config: Config): Promise<RunningGateway> {
  const worker = config.clusterWorker;
  const overrides: DepsOverrides =
    worker === undefined ? {} : { usageSpoolDir: usageSpoolDir(config.dataDir, worker), logger: createLogger(config.logLevel).child({ worker }) };
  const deps = await createDeps(config, overrides);
  if (worker === undefined) for (const w of config.warnings) deps.logger.warn(w);
  const app = buildApp(deps);
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
  server.headersTimeout = 66_000;
  let admin: Awaited<ReturnType<typeof ensureFirstAdmin>>;
  try {
    await listen(server, config.port, config.host);
    admin = worker === undefined ? await ensureFirstAdmin(deps.db, { bootstrapAdmin: config.bootstrapAdmin, embedded: !config.databaseUrl }, deps.logger) : { created: false };
  } catch (err) {
    if (server.listening) await new Promise((resolve) => server.close(resolve));
    await closeDeps(deps);
    throw err;
  }
  if (admin.generatedPassword) {
    // Shown once, on the terminal only: the password is stored as a scrypt hash.
    process.stdout.write(
      `\n  First admin created: ${admin.email}\n  Password (shown once): ${admin.generatedPassword}\n` +
        `  Log in (the console at /console, or POST /auth/login) and choose your own (POST /auth/password).\n` +
        `  Lost it? Stop the gateway and run \`npx keywallet admin reset-password --email ${admin.email}\`.\n\n`,
    );
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  deps.dataDirLock?.describe({ url });
  deps.logger.info({ url, database: config.databaseUrl ? 'postgres' : 'pglite', store: deps.kv.kind }, worker === undefined ? 'keywallet listening' : 'worker listening');
  if (config.metricsListener && worker === undefined) {
    const metrics = await startMetricsListener(deps.metrics.registry, { ...config.metricsListener, token: config.metricsToken });
    deps.closers.push(() => metrics.close());
    deps.logger.info({ url: metrics.url }, 'metrics listening (METRICS_PORT)');
  }

  let closing: Promise<void> | null = null;
  const shutdown = (reason = 'shutdown') =>
    (closing ??= (async () => {
      deps.logger.info({ reason }, 'shutting down: no new connections, finishing in-flight requests');
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        deps.logger.warn('shutdown timeout reached: closing remaining connections');
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      await drained;
      clearTimeout(timer);
      await closeDeps(deps);
      deps.logger.info('shutdown complete');
    })());
  return { server, deps, url, shutdown };
}

/** How a failed start is reported: problems the operator can fix by configuration exit 78 (EX_CONFIG) with one line. */
function reportStartFailure(err: unknown): never {
  if (err instanceof DataDirLockedError) {
    process.stderr.write(
      `keywallet: cannot start: ${err.message}.\n` +
        `  One gateway at a time may use a DATA_DIR (it holds the embedded database and the usage spool): stop\n` +
        `  that one first, or give this gateway a DATA_DIR of its own (several gateways share one PostgreSQL).\n`,
    );
  } else if (err instanceof ListenError) {
    process.stderr.write(`keywallet: cannot start: ${err.message}\n`);
  } else if (err instanceof WorkerStartError) {
    // the worker printed why; a configuration problem there is one here (78), anything else a failure
    process.stderr.write(`keywallet: cannot start: ${err.message}\n`);
    process.exit(err.exitCode === 78 ? 78 : 1);
  } else {
    process.stderr.write(`keywallet: failed to start: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  }
  process.exit(78); // EX_CONFIG
}

if (require.main === module) {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : (err as Error).message;
    process.stderr.write(`keywallet: configuration error: ${message}\n`);
    process.exit(78); // EX_CONFIG
  }
  if (config.workers > 1 && cluster.isPrimary) {
    // WORKERS > 1: this process forks the gateway workers and supervises them (src/cluster/primary.ts)
    startPrimary(config)
      .then((primary) => {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) {
          process.once(signal, () => {
            primary.shutdown(signal).then(
              (code) => process.exit(code),
              () => process.exit(1),
            );
          });
        }
      })
      .catch(reportStartFailure);
  } else if (cluster.isWorker && config.clusterWorker !== undefined) {
    start(config).then(runAsWorker).catch(reportStartFailure);
  } else {
    start(config)
      .then((gw) => {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) {
          process.once(signal, () => {
            gw.shutdown(signal).then(
              () => process.exit(0),
              () => process.exit(1),
            );
          });
        }
      })
      .catch(reportStartFailure);
  }
}
