/**
 * Usage-writer throughput: records N events as fast as the request path could, then measures how long the
 * writer takes to get them all into usage_events + usage_daily. Not a test: prints numbers only.
 *
 *   npx tsx bench/usage-writer.ts [events]                      # PGlite (in memory)
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/usage-writer.ts
 *   BENCH_MAX_BATCH=2000 …                                      # rows per transaction (default: the writer's)
 *
 * With BENCH_DATABASE_URL a scratch database is created next to the given one and dropped afterwards.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabase, migrateLatest, Db } from '../src/store/db';
import { createLogger } from '../src/logger';
import { createMetrics } from '../src/metrics/metrics';
import { createSpoolWriter } from '../src/usage/ledger';
import type { UsageEvent } from '../src/usage/event';

const N = Number(process.argv[2] ?? 100_000);
const ids = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());
const users = ids(50);
const keys = ids(200);
const entries = ids(10);
const models = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-haiku', 'claude-sonnet-4'];

function event(i: number, now: number): UsageEvent {
  return {
    ts: now + i,
    requestId: `req_${i}`,
    gatewayKeyId: keys[i % keys.length],
    userId: users[i % users.length],
    walletEntryId: entries[i % entries.length],
    surface: 'chat',
    service: i % 2 ? 'openai' : 'anthropic',
    model: models[i % models.length],
    status: i % 50 === 0 ? 429 : 200,
    errorCode: null,
    latencyMs: 100 + (i % 900),
    upstreamLatencyMs: 90 + (i % 800),
    promptTokens: i % 2000,
    completionTokens: i % 500,
    costMicros: i % 10_000,
    estimated: false,
    stream: i % 3 === 0,
    attempts: 1,
  };
}

async function run(label: string, db: Db): Promise<void> {
  await migrateLatest(db);
  const metrics = createMetrics({ collectDefault: false });
  const maxBatch = Number(process.env.BENCH_MAX_BATCH) || undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-spool-'));
  const writer = createSpoolWriter({ db, logger: createLogger('warn'), metrics, retentionDays: 0, maxBatch, dir, maxEvents: N * 2 });
  const now = Date.now();
  const events = Array.from({ length: N }, (_, i) => event(i, now));
  const t0 = process.hrtime.bigint();
  for (const e of events) writer.record(e);
  const t1 = process.hrtime.bigint();
  await writer.flush();
  const t2 = process.hrtime.bigint();
  await writer.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const [{ n }] = await db('usage_events').count({ n: '*' });
  const recordNs = Number(t1 - t0) / N;
  const seconds = Number(t2 - t0) / 1e9;
  console.log(
    `${label}: ${N} events written (${n} rows) in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} events/s; ` +
      `record() ${recordNs.toFixed(0)} ns/event; dropped ${(await metrics.usageDropped.get()).values[0]?.value ?? 0}`,
  );
}

async function main(): Promise<void> {
  const pglite = await createDatabase({});
  try {
    await run('PGlite', pglite);
  } finally {
    await pglite.destroy();
  }
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) return console.log('PostgreSQL: set BENCH_DATABASE_URL to measure it too');
  const name = `kw_bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  const db = await createDatabase({ url: scratch.toString() });
  try {
    await run('PostgreSQL', db);
  } finally {
    await db.destroy();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
