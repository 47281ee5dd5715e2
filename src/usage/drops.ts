import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { describeDbError } from './batch-write';

/**
 * Counts usage events lost for good (the spool or stream full, a row the database rejects, an undecodable line)
 * in keywallet_usage_events_dropped_total, and logs them at most once per 10 s with the count since the last line.
 */
export class UsageDrops {
  private unlogged = 0;
  private lastLog = 0;

  constructor(private readonly logger: Logger, private readonly metrics: Metrics) {}

  count(n: number, reason: string, err?: unknown): void {
    if (n <= 0) return;
    this.metrics.usageDropped.inc(n);
    this.unlogged += n;
    this.log(false, reason, err);
  }

  /** Logs what is still unlogged (on close). */
  flush(): void {
    this.log(true);
  }

  private log(force: boolean, reason?: string, err?: unknown): void {
    const now = Date.now();
    if (!this.unlogged || (!force && now - this.lastLog < 10_000)) return;
    this.lastLog = now;
    this.logger.warn({ dropped: this.unlogged, reason, err: err === undefined ? undefined : describeDbError(err) }, 'usage events dropped');
    this.unlogged = 0;
  }
}
