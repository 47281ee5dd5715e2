import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import os from 'node:os';
import { z } from 'zod';
import { parseTrustProxy, TrustProxy } from './http/client-ip';
import { parseThresholds } from './alerts/thresholds';

/** The only place that reads process.env. Everything else receives a Config. */

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const masterKeysPattern = /^\s*\d+:[A-Za-z0-9+/=_-]+\s*(,\s*\d+:[A-Za-z0-9+/=_-]+\s*)*$/;

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(20),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  PGLITE_THREAD: bool.default(true),
  KEYWALLET_MASTER_KEYS: z
    .string()
    .regex(masterKeysPattern, 'must look like "2:<base64 32 bytes>,1:<base64 32 bytes>"')
    .optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_ISSUER: z.string().min(1).default('keywallet'),
  JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(365 * 24 * 3600).default(12 * 3600),
  JWT_MAX_TTL_SECONDS: z.coerce.number().int().min(60).max(365 * 24 * 3600).default(30 * 24 * 3600),
  CONSOLE_SESSION_TTL_SECONDS: z.coerce.number().int().min(1).max(30 * 24 * 3600).default(12 * 3600),
  CONSOLE_SESSION_IDLE_SECONDS: z.coerce.number().int().min(1).max(30 * 24 * 3600).default(2 * 3600),
  KEYWALLET_ADMIN_EMAIL: z.string().email().optional(),
  KEYWALLET_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  ALLOW_REGISTRATION: bool.default(false),
  TRUST_PROXY: z.string().default('false'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  CORS_ORIGINS: z.string().default('*'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(120_000),
  USAGE_RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(90),
  USAGE_SPOOL_MAX_EVENTS: z.coerce.number().int().min(1000).max(100_000_000).default(1_000_000),
  USAGE_STREAM_MAX_EVENTS: z.coerce.number().int().min(1000).max(100_000_000).default(1_000_000),
  USAGE_SPOOL_FSYNC_MS: z.coerce.number().int().min(1).max(10_000).default(100),
  USAGE_CLAIM_IDLE_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  USAGE_CLOSE_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  ANTHROPIC_VERSION: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).default('2023-06-01'),
  UPLOAD_LIMIT_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(25 * 1024 * 1024),
  MAX_REQUEST_BODY_MB: z.coerce.number().int().min(1).max(1024).default(50),
  ALERT_THRESHOLDS: z.string().default('50,80,100'),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(10),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(30_000),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  WORKERS: z.coerce.number().int().min(1).max(256).optional(),
  /** set by the cluster primary in each worker it forks (src/cluster/): the worker's slot, 1..WORKERS; never by hand */
  KEYWALLET_CLUSTER_WORKER: z.coerce.number().int().min(1).max(256).optional(),
  BUDGET_TIME_ZONE: z
    .string()
    .default('UTC')
    .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin'),
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type Env = z.input<typeof envSchema>;

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  databaseUrl?: string;
  databasePoolMax: number;
  redisUrl?: string;
  dataDir: string;
  /** the embedded database (PGlite) in a worker thread, off the event loop; false (PGLITE_THREAD=0): on the main thread, for debugging */
  pgliteThread: boolean;
  masterKeys: string;
  /** maxTtlSeconds caps every token's lifetime: longer ones are neither minted nor accepted */
  jwt: { secret: string; issuer: string; ttlSeconds: number; maxTtlSeconds: number };
  /** console sessions: absolute lifetime and how long one lasts without a request */
  consoleSession: { ttlSeconds: number; idleSeconds: number };
  bootstrapAdmin?: { email: string; password: string };
  allowRegistration: boolean;
  /** which proxies may report the client address (X-Forwarded-For); false = the socket peer is the client */
  trustProxy: TrustProxy;
  logLevel: string;
  metricsToken?: string;
  /** a separate /metrics-only listener; when set, the main port does not serve /metrics */
  metricsListener?: { host: string; port: number };
  corsOrigins: string[] | '*';
  shutdownTimeoutMs: number;
  upstreamTimeoutMs: number;
  anthropicVersion: string;
  /** the largest file a multipart /v1 upload (audio, image edits) may carry; spooled to disk, never held in memory */
  uploadLimitBytes: number;
  /** the largest /v1 JSON body, in bytes, as sent and once decompressed (base64 images make them large) */
  maxRequestBodyBytes: number;
  /** raw usage events older than this are deleted (daily rollups are kept); 0 keeps them forever */
  usageRetentionDays: number;
  /** the usage ledger's durable logs (usage/spool.ts, usage/stream.ts): bounds, fsync period, claim idle, close deadline */
  usageLedger: { spoolMaxEvents: number; streamMaxEvents: number; spoolFsyncMs: number; claimIdleMs: number; closeTimeoutMs: number };
  /** budget alert thresholds (percent) and webhook delivery: timeout per attempt, attempts, backoff base, poll period */
  alerts: { thresholds: number[]; webhookTimeoutMs: number; webhookMaxAttempts: number; webhookRetryBaseMs: number; webhookPollMs: number };
  /**
   * gateway processes behind the one port (WORKERS): the cores when both DATABASE_URL and REDIS_URL are set, else 1
   * (the embedded database and the in-process store are single-process by nature). Above 1, src/cluster/ forks them.
   */
  workers: number;
  /** in a process forked by the cluster primary: its slot (1..workers); slot 1 runs the once-per-cluster jobs */
  clusterWorker?: number;
  /** the IANA time zone that team and organisation budgets' calendar periods (month, week, day) are aligned to */
  budgetTimeZone: string;
  /** Things the operator should know about, logged once at boot (e.g. generated secrets). */
  warnings: string[];
}

/** Reads and validates the environment. Throws ConfigError naming the variable on the first bad value. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const raw = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = parsed.data;
  const warnings: string[] = [];
  if (e.KEYWALLET_ADMIN_EMAIL && !e.KEYWALLET_ADMIN_PASSWORD) {
    throw new ConfigError('KEYWALLET_ADMIN_PASSWORD', 'is required when KEYWALLET_ADMIN_EMAIL is set');
  }
  if (e.JWT_TTL_SECONDS > e.JWT_MAX_TTL_SECONDS) {
    throw new ConfigError('JWT_TTL_SECONDS', `must not exceed JWT_MAX_TTL_SECONDS (${e.JWT_MAX_TTL_SECONDS})`);
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const shared = Boolean(e.DATABASE_URL && e.REDIS_URL);
  const workers = e.WORKERS ?? (shared ? Math.max(1, cores) : 1);
  if (workers > 1 && !shared) {
    const missing = [e.DATABASE_URL ? null : 'DATABASE_URL', e.REDIS_URL ? null : 'REDIS_URL'].filter(Boolean).join(' and ');
    throw new ConfigError(
      'WORKERS',
      `WORKERS=${workers} needs PostgreSQL and Redis (set ${missing}): the embedded database and the in-process counters ` +
        'belong to one process, so limits and the usage ledger would not be shared. Use WORKERS=1 (or leave it unset)',
    );
  }
  let trustProxy: TrustProxy;
  try {
    trustProxy = parseTrustProxy(e.TRUST_PROXY);
  } catch (err) {
    throw new ConfigError('TRUST_PROXY', (err as Error).message);
  }
  let thresholds: number[];
  try {
    thresholds = parseThresholds(e.ALERT_THRESHOLDS);
  } catch (err) {
    throw new ConfigError('ALERT_THRESHOLDS', (err as Error).message);
  }
  let masterKeys = e.KEYWALLET_MASTER_KEYS;
  let jwtSecret = e.JWT_SECRET;
  if (e.NODE_ENV === 'production') {
    if (!masterKeys) throw new ConfigError('KEYWALLET_MASTER_KEYS', 'is required when NODE_ENV=production');
    if (!jwtSecret) throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
    // Cost per model and the whole traffic picture are on /metrics: in production it is never open to whoever can
    // reach the gateway. Either a bearer token, or a listener of its own that the operator keeps private.
    if (!e.METRICS_TOKEN && e.METRICS_PORT === undefined) {
      throw new ConfigError('METRICS_TOKEN', 'is required when NODE_ENV=production (or set METRICS_PORT for a separate, private metrics listener)');
    }
  } else if (!masterKeys || !jwtSecret) {
    const generated = loadOrGenerateLocalSecrets(e.DATA_DIR);
    if (!masterKeys) {
      masterKeys = generated.masterKeys;
      warnings.push(`KEYWALLET_MASTER_KEYS not set: using the key generated in ${generated.file}; set it explicitly in production`);
    }
    if (!jwtSecret) {
      jwtSecret = generated.jwtSecret;
      warnings.push(`JWT_SECRET not set: using the secret generated in ${generated.file}; set it explicitly in production`);
    }
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    redisUrl: e.REDIS_URL,
    dataDir: e.DATA_DIR,
    pgliteThread: e.PGLITE_THREAD,
    masterKeys: masterKeys!,
    jwt: { secret: jwtSecret!, issuer: e.JWT_ISSUER, ttlSeconds: e.JWT_TTL_SECONDS, maxTtlSeconds: e.JWT_MAX_TTL_SECONDS },
    consoleSession: { ttlSeconds: e.CONSOLE_SESSION_TTL_SECONDS, idleSeconds: e.CONSOLE_SESSION_IDLE_SECONDS },
    bootstrapAdmin: e.KEYWALLET_ADMIN_EMAIL
      ? { email: e.KEYWALLET_ADMIN_EMAIL.toLowerCase(), password: e.KEYWALLET_ADMIN_PASSWORD! }
      : undefined,
    allowRegistration: e.ALLOW_REGISTRATION,
    trustProxy,
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN,
    metricsListener: e.METRICS_PORT !== undefined ? { host: e.METRICS_HOST, port: e.METRICS_PORT } : undefined,
    corsOrigins: e.CORS_ORIGINS === '*' ? '*' : e.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    anthropicVersion: e.ANTHROPIC_VERSION,
    uploadLimitBytes: e.UPLOAD_LIMIT_BYTES,
    maxRequestBodyBytes: e.MAX_REQUEST_BODY_MB * 1024 * 1024,
    usageRetentionDays: e.USAGE_RETENTION_DAYS,
    usageLedger: {
      spoolMaxEvents: e.USAGE_SPOOL_MAX_EVENTS,
      streamMaxEvents: e.USAGE_STREAM_MAX_EVENTS,
      spoolFsyncMs: e.USAGE_SPOOL_FSYNC_MS,
      claimIdleMs: e.USAGE_CLAIM_IDLE_MS,
      closeTimeoutMs: e.USAGE_CLOSE_TIMEOUT_MS,
    },
    alerts: {
      thresholds,
      webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
      webhookMaxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      webhookRetryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      webhookPollMs: e.WEBHOOK_POLL_MS,
    },
    workers,
    clusterWorker: e.KEYWALLET_CLUSTER_WORKER,
    budgetTimeZone: e.BUDGET_TIME_ZONE,
    warnings,
  };
}

/** Outside production, secrets are generated once and kept in DATA_DIR (mode 0600) so restarts keep working. */
function loadOrGenerateLocalSecrets(dataDir: string): { masterKeys: string; jwtSecret: string; file: string } {
  const file = path.resolve(dataDir, 'secrets.json');
  if (fs.existsSync(file)) {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { masterKeys: string; jwtSecret: string };
    return { ...stored, file };
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secrets = {
    masterKeys: `1:${crypto.randomBytes(32).toString('base64')}`,
    jwtSecret: crypto.randomBytes(48).toString('base64url'),
  };
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  return { ...secrets, file };
}
