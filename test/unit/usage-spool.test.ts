import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics/metrics';
import { UsageDrops } from '../../src/usage/drops';
import { UsageSpool } from '../../src/usage/spool';
import { decodeEvent, encodeEvent } from '../../src/usage/codec';
import type { UsageEvent } from '../../src/usage/event';

const event = (i: number): UsageEvent => ({
  id: crypto.randomUUID(),
  ts: 1_700_000_000_000 + i,
  requestId: `req_${i}`,
  gatewayKeyId: crypto.randomUUID(),
  userId: null,
  walletEntryId: null,
  surface: 'proxy',
  service: 'echo',
  model: null,
  status: i % 2 ? 200 : 429,
  errorCode: i % 2 ? null : 'rate_limited',
  latencyMs: i,
  upstreamLatencyMs: i % 3 ? null : 2,
  promptTokens: 0,
  completionTokens: 0,
  costMicros: 7,
  estimated: false,
  stream: i % 2 === 0,
  attempts: 1,
});

describe('usage spool', () => {
  let dir: string;
  const open = (o: { recycleBytes?: number } = {}) => {
    const logger = createLogger('silent');
    const metrics = createMetrics({ collectDefault: false });
    return new UsageSpool({ dir, logger, metrics, drops: new UsageDrops(logger, metrics), ...o });
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-spool-unit-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips every field through the line encoding, and refuses what is not one of its lines', () => {
    const e = event(3);
    expect(decodeEvent(encodeEvent(e))).toEqual(e);
    const priced = { ...e, priceVersion: 7 };
    expect(decodeEvent(encodeEvent(priced))).toEqual(priced);
    // a line written before the price version existed (20 fields) still decodes
    expect(decodeEvent(JSON.stringify(JSON.parse(encodeEvent(e)).slice(0, 20)))).toEqual(e);
    // the key's team rides along; a line from before teams (21 fields) decodes as organisation level
    const teamed = { ...priced, teamId: '5f0c6a8e-1b2d-4c3e-8f9a-0b1c2d3e4f5a' };
    expect(decodeEvent(encodeEvent(teamed))).toEqual(teamed);
    const before = decodeEvent(JSON.stringify(JSON.parse(encodeEvent(teamed)).slice(0, 21)));
    expect(before).toEqual(priced);
    expect(before).not.toHaveProperty('teamId');
    expect(decodeEvent(JSON.stringify([...JSON.parse(encodeEvent(teamed)), 'extra']))).toBeNull();
    expect(decodeEvent('{"not":"an event"}')).toBeNull();
    expect(decodeEvent(encodeEvent(e).slice(0, 40))).toBeNull();
  });

  it('has the turn in its file once append resolves, and a new process replays it in order', async () => {
    const a = open();
    const events = Array.from({ length: 50 }, (_, i) => event(i));
    await Promise.all(events.map((e) => a.append(e)));
    // no close(): what a killed process leaves behind
    const b = open();
    expect(b.depth()).toBe(50);
    const batch = await b.next(1000);
    expect(batch?.events).toEqual(events);
    expect(batch?.more).toBe(false);
    await batch!.ack();
    expect(b.depth()).toBe(0);
    expect(await b.next(1000)).toBeNull();
    await b.close();
    await a.close();
  });

  it('skips a torn last line (the process died inside a write) and counts it', async () => {
    const a = open();
    await Promise.all([event(1), event(2)].map((e) => a.append(e)));
    await a.close();
    const [file] = fs.readdirSync(dir);
    fs.appendFileSync(path.join(dir, file), encodeEvent(event(3)).slice(0, 30));
    const b = open();
    expect(b.depth()).toBe(2);
    const first = await b.next(1000);
    expect(first?.events.map((e) => e.requestId)).toEqual(['req_1', 'req_2']);
    await first!.ack();
    const torn = await b.next(1000);
    expect(torn).toMatchObject({ events: [], undecodable: 1 });
    await torn!.ack();
    expect(fs.readdirSync(dir)).toEqual([]); // fully read segments are deleted
    await b.close();
  });

  it('deletes a segment once everything in it is acknowledged, and reads in batches', async () => {
    const s = open();
    await Promise.all(Array.from({ length: 25 }, (_, i) => s.append(event(i))));
    const one = await s.next(10);
    expect(one?.events).toHaveLength(10);
    expect(one?.more).toBe(true);
    await one!.ack();
    expect(fs.readdirSync(dir)).toHaveLength(1);
    const rest = await s.next(100);
    expect(rest?.events).toHaveLength(15);
    await rest!.ack();
    // the consumed write segment is kept and appended to (no file created, fsynced and deleted per batch)
    expect(fs.readdirSync(dir)).toHaveLength(1);
    expect(s.depth()).toBe(0);
    await Promise.all([s.append(event(99))]);
    expect(fs.readdirSync(dir)).toHaveLength(1);
    const last = await s.next(100);
    expect(last?.events.map((e) => e.requestId)).toEqual(['req_99']); // acknowledged lines are not read again
    await last!.ack();
    await s.close();
    expect(fs.readdirSync(dir)).toEqual([]); // a clean close leaves nothing to replay
  });

  it('a batch that read to the tail says so, even when events arrive while it is read (they are the next batch)', async () => {
    const s = open();
    await Promise.all(Array.from({ length: 3 }, (_, i) => s.append(event(i))));
    const reading = s.next(100);
    await s.append(event(50)); // written while the read is in flight
    const b = await reading;
    expect(b?.events.map((e) => e.requestId)).toEqual(['req_0', 'req_1', 'req_2']);
    expect(b?.more).toBe(false);
    await b!.ack();
    expect((await s.next(100))?.events.map((e) => e.requestId)).toEqual(['req_50']);
    await s.close();
  });

  it('deletes the consumed write segment once it has grown past recycleBytes', async () => {
    const s = open({ recycleBytes: 2048 });
    await Promise.all(Array.from({ length: 3 }, (_, i) => s.append(event(i))));
    const small = await s.next(100);
    await small!.ack();
    expect(fs.readdirSync(dir)).toHaveLength(1); // under 2 KB: kept
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.append(event(10 + i))));
    const big = await s.next(100);
    expect(big?.events).toHaveLength(20);
    await big!.ack();
    expect(fs.readdirSync(dir)).toEqual([]); // past 2 KB and consumed: deleted
    await Promise.all([s.append(event(99))]);
    expect(fs.readdirSync(dir)).toHaveLength(1); // a new segment for what comes next
    expect((await s.next(100))?.events.map((e) => e.requestId)).toEqual(['req_99']);
    await s.close();
  });

  it('a crash after the acknowledgement replays the kept segment: the events come back, and are inserted as nothing new', async () => {
    const s = open();
    await Promise.all(Array.from({ length: 4 }, (_, i) => s.append(event(i))));
    const b = await s.next(100);
    await b!.ack();
    // no close(): the process died; the next start finds the segment
    const again = open();
    const replay = await again.next(100);
    expect(replay?.events.map((e) => e.requestId)).toEqual(['req_0', 'req_1', 'req_2', 'req_3']);
    await replay!.ack();
    await again.close();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
