/**
 * The usage writer's capacity as `npm run bench` reports it: the gateway's own build of UsageWriter
 * (dist/src/usage/writer.js) records BENCH_EVENTS events at once, as a burst of requests would, and the clock
 * runs until flush() says every one is committed (usage_events rows + usage_daily rollups, as in production).
 * The request path never waits for this; the figure says how much traffic one node's writer keeps up with.
 * Forked by bench/run.ts with BENCH_DATABASE_URL (the run's PostgreSQL database) or BENCH_DATA_DIR (PGlite);
 * reports over IPC. (bench/usage-writer.ts is the usage writer's own stand-alone command-line bench.)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { UsageEvent } from '../src/usage/event';

const DIST = path.resolve(__dirname, '../dist/src');
/* The built code, as the gateway runs it; types from the sources it was built from. */
const { createDatabase, migrateLatest } = require(`${DIST}/store/db`) as typeof import('../src/store/db');
const { createSpoolWriter } = require(`${DIST}/usage/ledger`) as typeof import('../src/usage/ledger');
const { createMetrics } = require(`${DIST}/metrics/metrics`) as typeof import('../src/metrics/metrics');
const { createLogger } = require(`${DIST}/logger`) as typeof import('../src/logger');

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);

/** Events shaped like real traffic: a few dozen keys and users, a few models, one day. */
function makeEvents(count: number): UsageEvent[] {
  const keys = Array.from({ length: 40 }, () => crypto.randomUUID());
  const users = Array.from({ length: 10 }, () => crypto.randomUUID());
  const entries = Array.from({ length: 4 }, () => crypto.randomUUID());
  const models = ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5', 'claude-sonnet-4-5'];
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    ts: now - (count - i),
    requestId: `req_bench_${i}`,
    gatewayKeyId: keys[i % keys.length],
    userId: users[i % users.length],
    walletEntryId: entries[i % entries.length],
    surface: 'chat',
    service: i % 2 ? 'openai' : 'anthropic',
    model: models[i % models.length],
    status: 200,
    errorCode: null,
    latencyMs: 1 + (i % 50),
    upstreamLatencyMs: i % 50,
    promptTokens: 12,
    completionTokens: 10,
    costMicros: 8,
    estimated: false,
    stream: i % 3 === 0,
    attempts: 1,
  }));
}

async function main(): Promise<void> {
  const url = process.env.BENCH_DATABASE_URL || undefined;
  const db = await createDatabase({ url, poolMax: 10, dataDir: url ? undefined : process.env.BENCH_DATA_DIR });
  await migrateLatest(db);
  const count = async () => Number((await db('usage_events').count({ n: '*' }))[0].n);
  const before = await count();
  // the ledger as the embedded default runs it: every event through the spool file, then into the database
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-spool-'));
  const writer = createSpoolWriter({ db, logger: createLogger('warn'), metrics: createMetrics(), dir: spoolDir, maxEvents: EVENTS * 2 + 2 });
  const events = makeEvents(EVENTS);
  const started = performance.now();
  for (const event of events) writer.record(event);
  await writer.flush();
  const seconds = (performance.now() - started) / 1000;
  const written = (await count()) - before;
  await writer.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
  await db.destroy();
  process.send?.({ type: 'result', events: EVENTS, written, seconds, eventsPerSecond: written / seconds });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`writer capacity bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
