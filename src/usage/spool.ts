import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { decodeEvent, encodeEvent } from './codec';
import type { UsageEvent } from './event';
import type { UsageBatch, UsageSource } from './source';
import type { UsageDrops } from './drops';

export interface SpoolOptions {
  /** the spool's own folder, inside DATA_DIR (whose lock keeps a second process out) */
  dir: string;
  logger: Logger;
  metrics: Metrics;
  drops: UsageDrops;
  /** events held at most; beyond it new events are dropped and counted */
  maxEvents?: number;
  /** how often written lines are flushed to the disk (fdatasync); the window a power loss can take */
  fsyncIntervalMs?: number;
  /** a segment file is closed and a new one started past this size */
  segmentBytes?: number;
  /** the consumed write segment is kept and appended to until it reaches this size (see removeConsumed) */
  recycleBytes?: number;
}

interface Segment {
  seq: number;
  file: string;
  /** bytes written */
  size: number;
  /** complete lines in it not acknowledged yet (what depth counts) */
  lines: number;
}

interface Position {
  seq: number;
  offset: number;
}

const NAME = /^usage-(\d{12})\.log$/;
const segmentFile = (dir: string, seq: number) => path.join(dir, `usage-${String(seq).padStart(12, '0')}.log`);

/**
 * An append-only spool of usage events in segment files (one event per line, see codec.ts). The events of one
 * event-loop turn are written with one write(2) before the requests that produced them are answered, so they survive
 * the process crashing or being killed; they reach the disk itself with the next fdatasync, every
 * `fsyncIntervalMs`: a power loss (or a kernel crash) can take the events of that last interval. The writer reads
 * lines back in order and acknowledges them after PostgreSQL committed them; a fully acknowledged segment is deleted.
 * At start every segment left behind is replayed (idempotent inserts: lines already stored count once).
 */
export class UsageSpool implements UsageSource {
  readonly name = 'spool' as const;
  private readonly segments: Segment[] = [];
  private writeFd: number | null = null;
  private nextSeq = 1;
  private pending: string[] = [];
  private turn: { promise: Promise<void>; resolve: () => void } | null = null;
  private cursor: Position = { seq: 0, offset: 0 };
  private stored = 0;
  private dirty = false;
  private dirDirty = false;
  private closed = false;
  private readonly fsyncTimer: NodeJS.Timeout;
  private readonly maxEvents: number;
  private readonly segmentBytes: number;
  private readonly recycleBytes: number;
  /** called after a turn's lines are written, with the depth: the writer wakes up early when it is large */
  onAppend: ((depth: number) => void) | null = null;

  constructor(private readonly o: SpoolOptions) {
    this.maxEvents = o.maxEvents ?? 1_000_000;
    this.segmentBytes = o.segmentBytes ?? 8 * 1024 * 1024;
    this.recycleBytes = o.recycleBytes ?? 4 * 1024 * 1024;
    fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    this.load();
    this.fsyncTimer = setInterval(() => this.syncToDisk(), o.fsyncIntervalMs ?? 100);
    this.fsyncTimer.unref();
    o.metrics.usageBacklogLimit.labels('spool').set(this.maxEvents);
    this.report();
  }

  depth(): number {
    return this.stored + this.pending.length;
  }

  append(event: UsageEvent): Promise<void> {
    if (this.closed) return this.drop(1, 'spool closed');
    if (this.depth() >= this.maxEvents) return this.drop(1, 'spool full');
    this.pending.push(encodeEvent(event) + '\n');
    if (!this.turn) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.turn = { promise, resolve };
      setImmediate(() => this.writePending());
    }
    return this.turn.promise;
  }

  async sync(): Promise<void> {
    this.writePending();
  }

  async next(max: number): Promise<UsageBatch | null> {
    this.writePending();
    for (;;) {
      const seg = this.segments.find((s) => s.seq >= this.cursor.seq);
      if (!seg) return null;
      if (seg.seq !== this.cursor.seq) this.cursor = { seq: seg.seq, offset: 0 };
      const available = seg.size - this.cursor.offset;
      const writing = seg === this.segments[this.segments.length - 1] && this.writeFd !== null;
      if (available <= 0) {
        if (writing) return null;
        this.cursor = { seq: seg.seq + 1, offset: 0 };
        continue;
      }
      // what the log held when this read began: lines appended while it is awaited are the next tick's batch
      const sizeAtRead = seg.size;
      const lastAtRead = seg === this.segments[this.segments.length - 1];
      const buf = await readAt(seg.file, this.cursor.offset, Math.min(available, Math.max(64 * 1024, max * 1024)));
      let end = 0;
      const lines: string[] = [];
      while (lines.length < max) {
        const nl = buf.indexOf(10, end);
        if (nl < 0) break;
        lines.push(buf.toString('utf8', end, nl));
        end = nl + 1;
      }
      let undecodable = 0;
      if (lines.length === 0) {
        if (writing || buf.length < available) return null; // cannot happen: lines are written whole
        // a torn last line (the process died inside a write): skip it
        undecodable = 1;
        end = buf.length;
      }
      const events: UsageEvent[] = [];
      for (const line of lines) {
        const e = decodeEvent(line);
        if (e) events.push(e);
        else undecodable += 1;
      }
      const from = this.cursor;
      const to = { seq: seg.seq, offset: from.offset + end };
      this.cursor = to;
      const more = to.offset < sizeAtRead || !lastAtRead;
      return { events, undecodable, more, ack: async () => this.ack(seg, lines.length, to) };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writePending();
    this.closed = true;
    clearInterval(this.fsyncTimer);
    if (this.stored === 0) this.removeConsumed(this.cursor, true);
    this.syncToDisk();
    if (this.writeFd !== null) fs.closeSync(this.writeFd);
    this.writeFd = null;
  }

  /** Writes the turn's lines with one write(2), then answers the requests waiting on them. */
  private writePending(): void {
    const turn = this.turn;
    this.turn = null;
    const lines = this.pending;
    if (lines.length === 0) {
      turn?.resolve();
      return;
    }
    this.pending = [];
    try {
      const seg = this.writeSegment();
      const buf = Buffer.from(lines.join(''));
      let written = 0;
      while (written < buf.length) written += fs.writeSync(this.writeFd!, buf, written, buf.length - written);
      seg.size += buf.length;
      seg.lines += lines.length;
      this.stored += lines.length;
      this.dirty = true;
      if (seg.size >= this.segmentBytes) this.closeWriteSegment();
    } catch (err) {
      // a full or failing disk: the events are counted, and the next turn tries again
      this.o.drops.count(lines.length, 'spool write failed');
      this.o.logger.error({ lost: lines.length, reason: (err as Error).message }, 'usage spool: could not write to DATA_DIR; events dropped');
    }
    turn?.resolve();
    this.report();
    this.onAppend?.(this.stored);
  }

  private writeSegment(): Segment {
    const last = this.segments[this.segments.length - 1];
    if (this.writeFd !== null && last) return last;
    const seq = this.nextSeq++;
    const file = segmentFile(this.o.dir, seq);
    this.writeFd = fs.openSync(file, 'a', 0o600);
    this.dirDirty = true;
    const seg = { seq, file, size: 0, lines: 0 };
    this.segments.push(seg);
    return seg;
  }

  private closeWriteSegment(): void {
    if (this.writeFd === null) return;
    fs.fdatasyncSync(this.writeFd);
    fs.closeSync(this.writeFd);
    this.writeFd = null;
    this.dirty = false;
  }

  private ack(seg: Segment, lines: number, to: Position): void {
    seg.lines -= lines;
    this.stored -= lines;
    this.removeConsumed(to, false);
    this.report();
  }

  /**
   * Deletes the segments before `to`. The write segment, once consumed, is deleted only when it has grown past
   * `recycleBytes` or the spool is closing: deleting it at every acknowledgement would create, fsync and unlink a
   * file per batch. What a crash leaves of an acknowledged write segment is replayed at start, and inserts nothing.
   */
  private removeConsumed(to: Position, closing: boolean): void {
    while (this.segments.length) {
      const first = this.segments[0];
      const isWriting = first === this.segments[this.segments.length - 1] && this.writeFd !== null;
      const consumed = first.seq < to.seq || (first.seq === to.seq && to.offset >= first.size && this.pending.length === 0);
      if (!consumed || (isWriting && !closing && first.size < this.recycleBytes)) break;
      if (isWriting) {
        fs.closeSync(this.writeFd!);
        this.writeFd = null;
        this.dirty = false;
      }
      this.segments.shift();
      fs.rmSync(first.file, { force: true });
    }
  }

  private syncToDisk(): void {
    try {
      if (this.dirty && this.writeFd !== null) {
        this.dirty = false;
        fs.fdatasyncSync(this.writeFd);
      }
      if (this.dirDirty) {
        this.dirDirty = false;
        const dirFd = fs.openSync(this.o.dir, 'r');
        try {
          fs.fsyncSync(dirFd); // a new segment's name must reach the disk too
        } finally {
          fs.closeSync(dirFd);
        }
      }
    } catch (err) {
      this.o.logger.warn({ reason: (err as Error).message }, 'usage spool: fsync failed');
    }
  }

  /** Picks up the segments a previous run left (they are replayed), counting their complete lines. */
  private load(): void {
    const found = fs
      .readdirSync(this.o.dir)
      .map((f) => NAME.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const seq of found) {
      const file = segmentFile(this.o.dir, seq);
      const data = fs.readFileSync(file);
      let lines = 0;
      for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) lines++;
      this.segments.push({ seq, file, size: data.length, lines });
      this.stored += lines;
      this.nextSeq = seq + 1;
    }
    if (this.segments.length) this.cursor = { seq: this.segments[0].seq, offset: 0 };
    if (this.stored) this.o.logger.info({ events: this.stored, segments: found.length }, 'usage spool: replaying events left by a previous run');
  }

  private drop(count: number, reason: string): Promise<void> {
    this.o.drops.count(count, reason);
    return Promise.resolve();
  }

  private report(): void {
    this.o.metrics.usageBacklog.labels('spool').set(this.depth());
  }
}

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
