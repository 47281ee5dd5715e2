import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSharedBackend, SharedBackend, TEST_REDIS_URL } from '../helpers/backend';
import { createDatabase, Db, migrateLatest } from '../../src/store/db';
import { RedisKvStore } from '../../src/store/redis-kv';
import { createLogger } from '../../src/logger';
import { createMetrics, Metrics } from '../../src/metrics/metrics';
import { UsageDrops } from '../../src/usage/drops';
import { UsageSpool } from '../../src/usage/spool';
import { UsageStream } from '../../src/usage/stream';
import { UsageWriter } from '../../src/usage/writer';
import type { UsageEvent } from '../../src/usage/event';

function event(i: number): UsageEvent {
  return {
    ts: Date.UTC(2030, 0, 1, 12) + i,
    requestId: `req_stream_${i}`,
    gatewayKeyId: null,
    userId: null,
    walletEntryId: null,
    surface: 'proxy',
    service: 'echo',
    model: null,
    status: 200,
    errorCode: null,
    latencyMs: 1,
    upstreamLatencyMs: 1,
    promptTokens: 0,
    completionTokens: 0,
    costMicros: 3,
    estimated: false,
    stream: false,
    attempts: 1,
  };
}

/** One node's ledger on Redis: a stream consumer with its spool beside it. */
function node(db: Db, prefix: string, dir: string, metrics: Metrics, o: { maxLen?: number; claimIdleMs?: number } = {}) {
  const logger = createLogger('silent');
  const kv = new RedisKvStore(TEST_REDIS_URL, prefix);
  const drops = new UsageDrops(logger, metrics);
  const spool = new UsageSpool({ dir, logger, metrics, drops });
  const stream = new UsageStream({ kv, spool, logger, metrics, drops, maxLen: o.maxLen, claimIdleMs: o.claimIdleMs });
  const writer = new UsageWriter({ db, logger, metrics, drops, sources: [stream, spool], retentionDays: 0, flushIntervalMs: 20 });
  return { kv, spool, stream, writer, close: async () => (await writer.close(), await kv.close()) };
}

/** A node that only appends and reads (no writer loop of its own): what a node killed mid-batch leaves behind. */
function appender(prefix: string, dir: string, metrics: Metrics) {
  const logger = createLogger('silent');
  const kv = new RedisKvStore(TEST_REDIS_URL, prefix);
  const drops = new UsageDrops(logger, metrics);
  const spool = new UsageSpool({ dir, logger, metrics, drops });
  return { kv, spool, stream: new UsageStream({ kv, spool, logger, metrics, drops }) };
}

describe('usage stream on Redis (postgres)', () => {
  let backend: SharedBackend;
  let db: Db;
  const dirs: string[] = [];
  const dir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-stream-spool-'));
    dirs.push(d);
    return d;
  };
  const prefix = () => `kwt:stream:${crypto.randomBytes(5).toString('hex')}:`;
  const stored = async () => Number((await db('usage_events').count({ n: '*' }))[0].n);

  beforeAll(async () => {
    backend = await createSharedBackend();
    db = await createDatabase({ url: backend.databaseUrl });
    await migrateLatest(db);
  });
  beforeEach(() => db.raw('truncate usage_events, usage_daily, usage_hourly'));
  afterAll(async () => {
    await db.destroy();
    await backend.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('takes events up to its bound and spools the rest on the node; all are written once', async () => {
    const metrics = createMetrics({ collectDefault: false });
    const n = node(db, prefix(), dir(), metrics, { maxLen: 5 });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => n.writer.record(event(i))));
      expect(n.spool.depth()).toBe(15);
      await n.stream.refreshDepth();
      expect(n.stream.depth()).toBe(5);
      await n.writer.flush();
      expect(await stored()).toBe(20);
      expect(Number((await db('usage_daily').sum({ n: 'requests' }))[0].n)).toBe(20);
      expect((await metrics.usageDropped.get()).values[0]?.value ?? 0).toBe(0);
    } finally {
      await n.close();
    }
  });

  it('a node claims what another read and never acknowledged (it died), and writes it once', async () => {
    const metrics = createMetrics({ collectDefault: false });
    const p = prefix();
    const dead = appender(p, dir(), metrics);
    await Promise.all(Array.from({ length: 30 }, (_, i) => dead.stream.append({ ...event(i), id: crypto.randomUUID() })));
    expect(dead.spool.depth()).toBe(0);
    const read = await dead.stream.next(100); // read, never written nor acknowledged
    expect(read?.events).toHaveLength(30);
    await dead.kv.close();
    await dead.spool.close();
    const alive = node(db, p, dir(), metrics, { claimIdleMs: 200 });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await alive.writer.flush();
      expect(await stored()).toBe(30);
      await alive.writer.flush(); // a second pass finds nothing left to claim
      expect(await stored()).toBe(30);
      expect(Number((await db('usage_daily').sum({ n: 'requests' }))[0].n)).toBe(30);
    } finally {
      await alive.close();
    }
  });
});
