/**
 * Issue #19: the embedded database (PGlite) on the main thread versus in its worker thread. Not a test, and not
 * part of `npm run bench`: prints numbers only.
 *
 *   npx tsx bench/pglite-thread.ts [thread|main] [transactions] [rows]
 *
 * Opens a fresh embedded database in a temporary data directory (as the gateway does), migrated, then:
 * - usage-writer-like load: `transactions` transactions (default 200) of `rows` usage_events rows (default 50),
 *   5 ms apart (the loop turns between them, as in a gateway), while perf_hooks.monitorEventLoopDelay samples the
 *   main loop (1 ms resolution, so an undisturbed loop reads ~1 ms): max and p99 loop delay, and the same pacing
 *   without the database first (the machine's floor);
 * - round trip: 5,000 trivial `select 1`, straight on the PGlite (or its thread) and through knex: µs each.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createDatabase, migrateLatest } from '../src/store/db';

const mode = process.argv[2] === 'main' ? 'main' : 'thread';
const TRANSACTIONS = Number(process.argv[3] ?? 200);
const ROWS = Number(process.argv[4] ?? 50);
const ROUND_TRIPS = 5000;
const PACE_MS = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The main thread's own CPU time and time waiting for a CPU, in ns (Linux schedstat; zeros elsewhere). */
function mainThreadSched(): { cpuNs: number; waitNs: number } {
  try {
    const [cpu, wait] = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { cpuNs: cpu, waitNs: wait };
  } catch {
    return { cpuNs: 0, waitNs: 0 };
  }
}

function row(i: number) {
  return {
    event_id: crypto.randomUUID(),
    ts: new Date(),
    request_id: `req_${i}`,
    gateway_key_id: crypto.randomUUID(),
    user_id: crypto.randomUUID(),
    surface: 'chat',
    service: 'openai',
    model: 'gpt-4o-mini',
    status: 200,
    latency_ms: 120,
    upstream_latency_ms: 100,
    prompt_tokens: 1000,
    completion_tokens: 200,
    cost_micros: 1234,
    estimated: false,
    stream: false,
    attempts: 1,
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-pglite-'));
  try {
    const db = await createDatabase({ dataDir: dir, pgliteThread: mode === 'thread' });
    await migrateLatest(db);
    const pglite = (db.client as unknown as { pglite: { query(sql: string): Promise<unknown> } }).pglite;
    // warm up both paths
    for (let i = 0; i < 200; i++) await pglite.query('select 1');
    await db.transaction(async (trx) => trx('usage_events').insert(Array.from({ length: ROWS }, (_, i) => row(i))));

    // the machine's own noise: the same histogram over the same pacing, with no database work
    const floor = monitorEventLoopDelay({ resolution: 1 });
    floor.enable();
    const floorSched0 = mainThreadSched();
    for (let t = 0; t < TRANSACTIONS; t++) await sleep(PACE_MS);
    const floorSched1 = mainThreadSched();
    floor.disable();

    // a gateway's loop turns between the writer's transactions: one transaction, then PACE_MS of other work
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const elu0 = performance.eventLoopUtilization();
    const sched0 = mainThreadSched();
    let busyNs = 0n;
    for (let t = 0; t < TRANSACTIONS; t++) {
      const start = process.hrtime.bigint();
      await db.transaction(async (trx) => {
        await trx('usage_events').insert(Array.from({ length: ROWS }, (_, i) => row(t * ROWS + i)));
      });
      busyNs += process.hrtime.bigint() - start;
      await sleep(PACE_MS);
    }
    const writeMs = Number(busyNs) / 1e6;
    h.disable();
    // how long the main loop itself was busy (not waiting for I/O or the thread), per transaction
    const loopActiveMs = performance.eventLoopUtilization(performance.eventLoopUtilization(), elu0).active;
    const sched1 = mainThreadSched();

    const t1 = process.hrtime.bigint();
    for (let i = 0; i < ROUND_TRIPS; i++) await pglite.query('select 1');
    const directUs = Number(process.hrtime.bigint() - t1) / 1e3 / ROUND_TRIPS;
    const t2 = process.hrtime.bigint();
    for (let i = 0; i < ROUND_TRIPS; i++) await db.raw('select 1');
    const knexUs = Number(process.hrtime.bigint() - t2) / 1e3 / ROUND_TRIPS;

    await db.destroy();
    const ms = (ns: number) => (ns / 1e6).toFixed(2);
    console.log(
      JSON.stringify({
        mode,
        transactions: TRANSACTIONS,
        rows: ROWS,
        msPerTransaction: +(writeMs / TRANSACTIONS).toFixed(2),
        loopBusyMsPerTransaction: +(loopActiveMs / TRANSACTIONS).toFixed(2),
        mainCpuMsPerTransaction: +((sched1.cpuNs - sched0.cpuNs) / 1e6 / TRANSACTIONS).toFixed(2),
        mainRunQueueWaitMsPerTransaction: +((sched1.waitNs - sched0.waitNs) / 1e6 / TRANSACTIONS).toFixed(2),
        loopDelayMaxMs: +ms(h.max),
        loopDelayP99Ms: +ms(h.percentile(99)),
        loopDelayP50Ms: +ms(h.percentile(50)),
        floorMainCpuMsPerPace: +((floorSched1.cpuNs - floorSched0.cpuNs) / 1e6 / TRANSACTIONS).toFixed(2),
        floorMaxMs: +ms(floor.max),
        floorP99Ms: +ms(floor.percentile(99)),
        select1UsDirect: +directUs.toFixed(1),
        select1UsKnex: +knexUs.toFixed(1),
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
