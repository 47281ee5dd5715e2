import http from 'node:http';
import { loadConfig, ConfigError, Config } from './config';
import { createDeps, closeDeps, Deps } from './deps';
import { buildApp } from './app';
import { ensureFirstAdmin } from './auth/bootstrap';
import { startMetricsListener } from './metrics/server';

export interface RunningGateway {
  server: http.Server;
  deps: Deps;
  url: string;
  shutdown(reason?: string): Promise<void>;
}

/** Boots the gateway: config → deps → app → listen. Resolves once listening. */
export async function start(config: Config): Promise<RunningGateway> {
  const deps = await createDeps(config);
  for (const w of config.warnings) deps.logger.warn(w);
  const admin = await ensureFirstAdmin(deps.db, { bootstrapAdmin: config.bootstrapAdmin, embedded: !config.databaseUrl }, deps.logger);
  if (admin.generatedPassword) {
    // Shown once, on the terminal only: the password is stored as a scrypt hash.
    process.stdout.write(
      `\n  First admin created: ${admin.email}\n  Password (shown once): ${admin.generatedPassword}\n` +
        `  Log in with POST /auth/login, then change it.\n\n`,
    );
  }
  const app = buildApp(deps);
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  deps.logger.info({ url, database: config.databaseUrl ? 'postgres' : 'pglite', store: deps.kv.kind }, 'keywallet listening');
  if (config.metricsListener) {
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

if (require.main === module) {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : (err as Error).message;
    process.stderr.write(`keywallet: configuration error: ${message}\n`);
    process.exit(78); // EX_CONFIG
  }
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
    .catch((err) => {
      process.stderr.write(`keywallet: failed to start: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    });
}
