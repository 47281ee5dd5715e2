import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startTestGateway, TestGateway, TEST_JWT_SECRET, TEST_MASTER_KEYS } from '../helpers/gateway';
import { createSharedBackend, TEST_BACKEND } from '../helpers/backend';
import { createLogger } from '../../src/logger';
import { createMetrics, Metrics } from '../../src/metrics/metrics';
import { UsageWriter } from '../../src/usage/writer';
import { UsageDrops } from '../../src/usage/drops';
import type { UsageSource } from '../../src/usage/source';
import { createSpoolWriter, SpoolWriterOptions } from '../../src/usage/ledger';
import type { UsageEvent } from '../../src/usage/event';
import { loadConfig } from '../../src/config';
import { closeDeps, createDeps } from '../../src/deps';
import { createDatabase } from '../../src/store/db';
import { pruneUsageEvents, UsageRetentionJob } from '../../src/usage/retention';
import { addEntry } from '../helpers/routing';

const pool = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());
const USERS = [...pool(3), null];
const KEYS = [...pool(4), null];
const ENTRIES = [...pool(2), null];
const SERVICES = ['openai', 'anthropic', 'stripe', null];
const MODELS = ['gpt-4o-mini', 'claude-3-5-haiku', null];
const STATUSES = [200, 200, 200, 201, 401, 402, 429, 502];
// spans a UTC midnight, so one batch feeds two days
const T0 = Date.UTC(2025, 4, 31, 23, 58);

function makeEvent(i: number, over: Partial<UsageEvent> = {}): UsageEvent {
  const status = STATUSES[i % STATUSES.length];
  return {
    ts: T0 + i * 97,
    requestId: `req_${i}_${crypto.randomBytes(3).toString('hex')}`,
    gatewayKeyId: KEYS[i % KEYS.length],
    userId: USERS[(i >> 1) % USERS.length],
    walletEntryId: ENTRIES[i % ENTRIES.length],
    surface: (['chat', 'messages', 'embeddings', 'models', 'proxy'] as const)[i % 5],
    service: SERVICES[(i >> 2) % SERVICES.length],
    model: MODELS[i % MODELS.length],
    status,
    errorCode: status >= 400 ? 'rate_limited' : null,
    latencyMs: 5 + (i % 301),
    upstreamLatencyMs: i % 7 === 0 ? null : 3 + (i % 200),
    promptTokens: (i * 13) % 900,
    completionTokens: (i * 7) % 400,
    costMicros: (i * 1_337) % 250_000,
    estimated: i % 11 === 0,
    stream: i % 3 === 0,
    attempts: 1 + (i % 3),
    ...over,
  };
}

async function counter(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe(`usage writer (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let lines: string[];
  let metrics: Metrics;
  const writers: UsageWriter[] = [];

  let spoolDir: string;
  function writer(opts: Partial<SpoolWriterOptions> = {}): UsageWriter {
    const w = createSpoolWriter({
      db: gw.deps.db,
      logger: createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) })),
      metrics,
      dir: spoolDir,
      retentionDays: 0,
      flushIntervalMs: 20,
      retryBaseMs: 10,
      retryMaxMs: 60,
      ...opts,
    });
    writers.push(w);
    return w;
  }

  const countEvents = async () => Number((await gw.deps.db('usage_events').count({ n: '*' }))[0].n);

  beforeAll(async () => {
    gw = await startTestGateway();
  }, 120_000); // PGlite's first start compiles WASM: slow on a busy machine
  beforeEach(async () => {
    lines = [];
    metrics = createMetrics({ collectDefault: false });
    spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-usage-spool-'));
    await gw.deps.db.raw('truncate usage_events, usage_daily');
  });
  afterEach(async () => {
    await Promise.all(writers.splice(0).map((w) => w.close()));
    fs.rmSync(spoolDir, { recursive: true, force: true });
  });
  afterAll(() => gw.close());

  async function expectRollupsEqualEvents(): Promise<void> {
    const none = '00000000-0000-0000-0000-000000000000';
    const direct = await gw.deps.db.raw(`
      select to_char((ts at time zone 'UTC')::date, 'YYYY-MM-DD') as day,
             coalesce(gateway_key_id, '${none}')::text as gateway_key_id, coalesce(user_id, '${none}')::text as user_id,
             coalesce(wallet_entry_id, '${none}')::text as wallet_entry_id, coalesce(service, '') as service,
             coalesce(model, '') as model, count(*)::bigint as requests,
             count(*) filter (where status >= 400)::bigint as errors, sum(prompt_tokens)::bigint as prompt_tokens,
             sum(completion_tokens)::bigint as completion_tokens, sum(cost_micros)::bigint as cost_micros,
             sum(latency_ms)::bigint as latency_ms_sum
      from usage_events group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6`);
    const rollups = await gw.deps.db.raw(`
      select to_char(day, 'YYYY-MM-DD') as day, gateway_key_id::text, user_id::text, wallet_entry_id::text, service,
             model, requests, errors, prompt_tokens, completion_tokens, cost_micros, latency_ms_sum
      from usage_daily order by 1, 2, 3, 4, 5, 6`);
    expect(rollups.rows.length).toBeGreaterThan(1);
    expect(rollups.rows).toEqual(direct.rows);
  }

  it('a source that keeps filling is written once per tick, not a transaction per handful of events', async () => {
    // a log that reaches its tail at every read, and has a new event again by the next one (a steady trickle)
    let reads = 0;
    let n = 0;
    const trickle: UsageSource = {
      name: 'spool',
      append: async () => undefined,
      next: async () => {
        await new Promise((r) => setImmediate(r)); // a read is I/O: the loop turns
        return { events: [makeEvent(n++)], undecodable: 0, more: false, ack: async () => undefined };
      },
      depth: () => 1,
      sync: async () => undefined,
      close: async () => undefined,
    };
    const counted: UsageSource = { ...trickle, next: (max) => ((reads += 1), trickle.next(max)) };
    const w = new UsageWriter({ db: gw.deps.db, logger: createLogger('silent'), metrics, drops: new UsageDrops(createLogger('silent'), metrics), sources: [counted], flushIntervalMs: 100, retentionDays: 0 });
    writers.push(w);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 550));
    const ticks = Math.ceil((Date.now() - started) / 100);
    // one pass per tick: going straight back after each batch would read (and write a transaction) hundreds of times
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(ticks + 1);
    await w.close();
    expect(await countEvents()).toBe(n);
  });

  it('writes exactly N events, every column intact, and rollups equal to a direct aggregate', async () => {
    const w = writer();
    const events = Array.from({ length: 2345 }, (_, i) => makeEvent(i));
    for (const e of events) w.record(e);
    await w.flush();
    expect(await countEvents()).toBe(events.length);
    expect(w.pending).toBe(0);
    // what is left is at most the write segment, kept to append to, every line of it written
    expect(fs.readdirSync(spoolDir).length).toBeLessThanOrEqual(1);
    expect(await counter(metrics.usageWritten)).toBe(events.length);
    expect(await counter(metrics.usageQueueDepth)).toBe(0);

    const stored = await gw.deps.db('usage_events').select('*');
    const byId = new Map(stored.map((r) => [r.request_id, r]));
    for (const e of events) {
      const r = byId.get(e.requestId);
      expect({
        id: r.event_id,
        ts: new Date(r.ts).getTime(),
        requestId: r.request_id,
        gatewayKeyId: r.gateway_key_id,
        userId: r.user_id,
        walletEntryId: r.wallet_entry_id,
        surface: r.surface,
        service: r.service,
        model: r.model,
        status: r.status,
        errorCode: r.error_code,
        latencyMs: r.latency_ms,
        upstreamLatencyMs: r.upstream_latency_ms,
        promptTokens: r.prompt_tokens,
        completionTokens: r.completion_tokens,
        costMicros: r.cost_micros,
        estimated: r.estimated,
        stream: r.stream,
        attempts: r.attempts,
      }).toEqual(e);
    }
    await expectRollupsEqualEvents();

    // a second round over the same keys goes through the upsert's "do update" branch
    for (let i = 0; i < 1000; i++) w.record(makeEvent(i));
    await w.flush();
    expect(await countEvents()).toBe(events.length + 1000);
    await expectRollupsEqualEvents();
  });

  it("stamps each wallet entry with its latest use, never moving it back", async () => {
    const admin = (await gw.user('admin')).token;
    const entry = await addEntry(gw, admin, { service: 'openai' });
    const lastUsed = async () => (await gw.deps.db('wallet_entries').where({ id: entry.id }).first()).last_used_at as Date | null;
    expect(await lastUsed()).toBeNull();
    const w = writer();
    for (let i = 0; i < 5; i++) w.record(makeEvent(i, { walletEntryId: i === 3 ? entry.id.toUpperCase() : entry.id, ts: T0 + i * 1000 }));
    w.record(makeEvent(5, { walletEntryId: null, ts: T0 + 60_000 })); // not through the entry
    await w.flush();
    expect((await lastUsed())?.getTime()).toBe(T0 + 4000);
    w.record(makeEvent(6, { walletEntryId: entry.id, ts: T0 - 60_000 })); // an older event written late
    await w.flush();
    expect((await lastUsed())?.getTime()).toBe(T0 + 4000);
    const shown = await gw.request(`/wallet/keys/${entry.id}`, { token: admin });
    expect(shown.body.lastUsedAt).toBe(new Date(T0 + 4000).toISOString());
  });

  it('bounds the spool: refuses the newest once full, counts every drop and logs them rate-limited', async () => {
    const w = writer({ maxEvents: 10, flushAt: 1_000, flushIntervalMs: 60_000 });
    const events = Array.from({ length: 25 }, (_, i) => makeEvent(i));
    await Promise.all(events.map((e) => w.record(e)));
    expect(w.pending).toBe(10);
    expect(await counter(metrics.usageDropped)).toBe(15);
    expect(await counter(metrics.usageBacklog)).toBe(10);
    const dropLines = () => lines.filter((l) => l.includes('usage events dropped')).map((l) => JSON.parse(l));
    expect(dropLines()).toEqual([expect.objectContaining({ dropped: 1, reason: 'spool full' })]);

    await w.flush();
    const written = await gw.deps.db('usage_events').pluck('request_id');
    expect(written.sort()).toEqual(events.slice(0, 10).map((e) => e.requestId).sort());
    await w.close();
    // the drops held back by the rate limit are reported when the writer closes
    expect(dropLines().map((l) => l.dropped)).toEqual([1, 14]);
  });

  it('keeps a batch through a database failure and retries it until it is written, exactly once', async () => {
    const w = writer();
    await gw.deps.db.raw('alter table usage_events rename to usage_events_parked');
    try {
      for (let i = 0; i < 30; i++) w.record(makeEvent(i));
      await waitFor(() => lines.some((l) => l.includes('keeping the batch and retrying')));
      await new Promise((r) => setTimeout(r, 150)); // several more failed attempts
      expect(w.pending).toBe(30);
      expect(lines.join('')).toContain('does not exist');
    } finally {
      await gw.deps.db.raw('alter table usage_events_parked rename to usage_events');
    }
    // no flush(): the background retry alone gets it through
    await waitFor(async () => (await countEvents()) === 30);
    expect(await gw.deps.db('usage_events').countDistinct({ n: 'request_id' })).toEqual([{ n: 30 }]);
    expect(await counter(metrics.usageDropped)).toBe(0);
    expect(await counter(metrics.usageWritten)).toBe(30);
    await expectRollupsEqualEvents();
  });

  it('isolates a row the database rejects for good and writes the rest of its batch', async () => {
    const w = writer({ flushIntervalMs: 60_000 });
    for (let i = 0; i < 40; i++) w.record(makeEvent(i, i === 17 ? { gatewayKeyId: 'not-a-uuid' } : {}));
    await w.flush();
    expect(await countEvents()).toBe(39);
    expect(await counter(metrics.usageDropped)).toBe(1);
    expect(lines.join('')).toContain('rejected by the database');
    await expectRollupsEqualEvents();
  });

  it('close() writes everything still buffered; a record after close is counted as dropped', async () => {
    const w = writer({ flushIntervalMs: 60_000, flushAt: 100_000 });
    await Promise.all(Array.from({ length: 1234 }, (_, i) => w.record(makeEvent(i))));
    expect(await countEvents()).toBe(0);
    await w.close();
    expect(await countEvents()).toBe(1234);
    w.record(makeEvent(9999));
    expect(await counter(metrics.usageDropped)).toBe(1);
    expect(await countEvents()).toBe(1234);
  });

  it('close() stops at its deadline while the database stays down; the events stay in the spool and the next start writes them once', async () => {
    const w = writer({ closeTimeoutMs: 300, retryMaxMs: 5_000, retryBaseMs: 5_000 });
    await gw.deps.db.raw('alter table usage_events rename to usage_events_parked');
    const events = Array.from({ length: 12 }, (_, i) => makeEvent(i));
    try {
      await Promise.all(events.map((e) => w.record(e)));
      await waitFor(() => lines.some((l) => l.includes('keeping the batch and retrying')));
      const started = Date.now();
      await w.close(); // a backoff of seconds does not hold it past its deadline
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await counter(metrics.usageDropped)).toBe(0);
      expect(lines.join('')).toContain('they stay in the spool');
    } finally {
      await gw.deps.db.raw('alter table usage_events_parked rename to usage_events');
    }
    expect(await countEvents()).toBe(0);
    // a later run on the same spool replays them; a third replays nothing new
    const again = writer();
    await again.flush();
    expect((await gw.deps.db('usage_events').pluck('request_id')).sort()).toEqual(events.map((e) => e.requestId).sort());
    await expectRollupsEqualEvents();
  });

  it('a replay of events already stored inserts nothing and counts nothing twice', async () => {
    const events = Array.from({ length: 300 }, (_, i) => ({ ...makeEvent(i), id: crypto.randomUUID() }));
    const w = writer();
    for (const e of events) void w.record({ ...e });
    await w.flush();
    const rollups = await gw.deps.db('usage_daily').orderBy(['day', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model']);
    // the same events again (as a spool replay or a second claim of stream entries would bring them), half of them new
    const more = Array.from({ length: 50 }, (_, i) => ({ ...makeEvent(1000 + i), id: crypto.randomUUID() }));
    for (const e of [...events, ...more]) void w.record({ ...e });
    await w.flush();
    expect(await countEvents()).toBe(350);
    expect(await counter(metrics.usageWritten)).toBe(350);
    await expectRollupsEqualEvents();
    const requests = Number((await gw.deps.db('usage_daily').sum({ n: 'requests' }))[0].n);
    expect(requests).toBe(350);
    expect(rollups.length).toBeGreaterThan(1);
  });

  it('retention deletes raw events past the retention period in bounded batches and keeps the rollups', async () => {
    const w = writer();
    const now = Date.UTC(2025, 6, 1, 12);
    const day = 86_400_000;
    for (let i = 0; i < 23; i++) w.record(makeEvent(i, { ts: now - 91 * day - i * 1000 }));
    for (let i = 23; i < 30; i++) w.record(makeEvent(i, { ts: now - 89 * day }));
    await w.flush();
    const rollupsBefore = await gw.deps.db('usage_daily').orderBy(['day', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model']);

    expect(await pruneUsageEvents(gw.deps.db, { retentionDays: 90, nowMs: now, batchSize: 5 })).toBe(23);
    expect(await countEvents()).toBe(7);
    expect(await gw.deps.db('usage_daily').orderBy(['day', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model'])).toEqual(
      rollupsBefore,
    );
    // 0 keeps events forever
    expect(await pruneUsageEvents(gw.deps.db, { retentionDays: 0, nowMs: now + 1000 * day })).toBe(0);
    expect(await countEvents()).toBe(7);
    const job = new UsageRetentionJob({ db: gw.deps.db, logger: gw.deps.logger, clock: { now: () => now + 2 * day }, retentionDays: 90 });
    expect(await job.runOnce()).toBe(7);
    expect(await countEvents()).toBe(0);
  });

  it('is wired into deps: a graceful shutdown (closeDeps) writes every recorded event', async () => {
    const backend = await createSharedBackend();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-usage-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      KEYWALLET_MASTER_KEYS: TEST_MASTER_KEYS,
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: backend.databaseUrl,
      REDIS_URL: backend.redisUrl,
      DATA_DIR: dir,
    });
    try {
      const deps = await createDeps(config, { kvPrefix: backend.kvPrefix });
      for (let i = 0; i < 3000; i++) deps.usage.record(makeEvent(i));
      await closeDeps(deps);
      const db = await createDatabase({ url: backend.databaseUrl, dataDir: dir });
      try {
        expect(Number((await db('usage_events').count({ n: '*' }))[0].n)).toBe(3000);
        expect(Number((await db('usage_daily').sum({ n: 'requests' }))[0].n)).toBe(3000);
      } finally {
        await db.destroy();
      }
    } finally {
      await backend.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
