import type { UsageEvent } from './event';

/** Events read from a durable log, to be acknowledged once PostgreSQL has committed them. */
export interface UsageBatch {
  events: UsageEvent[];
  /** lines or entries that could not be decoded: counted as dropped, acknowledged with the batch */
  undecodable: number;
  /** whether the log may hold more right now (false: this batch reached its tail) */
  more: boolean;
  /** Removes the batch from the log. Call only after the commit: a crash before it means a replay, never a loss. */
  ack(): Promise<void>;
}

/**
 * A durable log of usage events between the request path and PostgreSQL: the spool file in DATA_DIR (embedded
 * default, and every node's fallback while Redis is unreachable) or the Redis stream read by a consumer group.
 */
export interface UsageSource {
  readonly name: 'spool' | 'stream';
  /**
   * Hot path: takes the event; the promise resolves once it is durable (in the spool file, or in the stream), shared
   * by every event of the same event-loop turn. Never rejects: what cannot be stored anywhere is counted as dropped.
   */
  append(event: UsageEvent): Promise<void>;
  /** The oldest events not acknowledged yet and not handed out already, at most `max`; null when none wait. */
  next(max: number): Promise<UsageBatch | null>;
  /** Events stored and not acknowledged yet (the backlog), as last known. */
  depth(): number;
  /** Refreshes what depth() reports, where that needs a round trip (the stream). */
  refreshDepth?(): Promise<void>;
  /** Makes every appended event durable (writes the turn's pending appends). */
  sync(): Promise<void>;
  /** Forgets what was handed out and not acknowledged (a failed write): it is handed out again. */
  rewind?(): void;
  close(): Promise<void>;
}
