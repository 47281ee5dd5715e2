import type { Metrics } from '../metrics/metrics';

const LOAD_DECAY_MS = 60_000;

interface EntryRef {
  id: string;
  service: string;
}

/**
 * What one node keeps about the entries it routes to: recent load (for least-used ordering among equals) and
 * the per-entry gauges, written only when a value changes.
 */
export class EntryBook {
  /** entry id → requests sent through it lately (halved every minute) */
  readonly load = new Map<string, number>();
  private loadDecayedAt = 0;
  private readonly up = new Map<string, number>();

  constructor(private readonly metrics: Metrics) {}

  noteUse(id: string): void {
    this.load.set(id, (this.load.get(id) ?? 0) + 1);
  }

  decay(nowMs: number): void {
    if (nowMs - this.loadDecayedAt < LOAD_DECAY_MS) return;
    this.loadDecayedAt = nowMs;
    for (const [id, n] of this.load) {
      if (n <= 1) this.load.delete(id);
      else this.load.set(id, Math.floor(n / 2));
    }
  }

  /** 1 usable, 0 invalid, disabled or cooling down. */
  setUp(entry: EntryRef, value: 0 | 1): void {
    if (this.up.get(entry.id) === value) return;
    this.up.set(entry.id, value);
    this.metrics.walletEntryUp.labels(entry.id, entry.service).set(value);
  }

  quotaRemaining(entry: EntryRef, used: number, limit: number): void {
    this.metrics.walletQuotaRemaining.labels(entry.id, entry.service).set(Math.max(0, 1 - used / Math.max(1, limit)));
  }
}
