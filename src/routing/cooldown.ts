import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { KvStore } from '../store/kv';

/**
 * Cooldowns shared by every gateway node. A node that sees a 429, 5xx, timeout or connection error writes the
 * entry's cooldown to the shared store (with a TTL) and announces it on the 'cooldown' channel, so every node
 * skips the entry at once. A node that starts later, or first meets an entry, reads the store once and then
 * relies on the announcements (re-reading now and then as a safety net against a missed message).
 *
 * Two kinds: a `cooldown` takes the entry out of routing; a `steer` (the upstream's rate-limit headers said
 * nothing is left) only moves it to the back of the line until the upstream's reset.
 */

export type CooldownKind = 'cooldown' | 'steer';

interface Announcement {
  id: string;
  kind: CooldownKind;
  until: number;
}

export interface CooldownSnapshot {
  cooldownUntil: ReadonlyMap<string, number>;
  steerAway: ReadonlyMap<string, number>;
}

const CHANNEL = 'cooldown';
const NONE: ReadonlyMap<string, number> = new Map();
const RECHECK_MS = 30_000;
const storeKey = (kind: CooldownKind, id: string) => `${kind}:${id}`;

export class CooldownTracker {
  private readonly until: Record<CooldownKind, Map<string, number>> = { cooldown: new Map(), steer: new Map() };
  /** entry id → when this node last read the entry's state from the shared store */
  private readonly readAt = new Map<string, number>();
  /** first reads of an entry under way: concurrent requests wait for the same one */
  private readonly reading = new Map<string, Promise<void>>();

  constructor(
    private readonly kv: KvStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.kv.subscribe(CHANNEL, (message) => {
      try {
        const a = JSON.parse(message) as Announcement;
        if (typeof a.id === 'string' && (a.kind === 'cooldown' || a.kind === 'steer') && Number.isFinite(a.until)) {
          this.note(a.kind, a.id, a.until);
        }
      } catch {
        this.logger.warn({ channel: CHANNEL }, 'ignored a malformed cooldown announcement');
      }
    });
  }

  /** Takes the entry out of routing for `ms` on every node. */
  coolDown(entryId: string, ms: number): Promise<void> {
    return this.share('cooldown', entryId, ms);
  }

  /** Moves the entry to the back of the line for `ms` on every node. */
  steerAway(entryId: string, ms: number): Promise<void> {
    return this.share('steer', entryId, ms);
  }

  /**
   * The current cooldowns and steers of these entries. Only an entry this node has never read waits for the shared
   * store; the periodic re-read of a known entry runs in the background, so a warm request makes no round trip.
   */
  async snapshot(entryIds: readonly string[]): Promise<CooldownSnapshot> {
    const now = this.clock.now();
    const cold = this.coldReads(entryIds, now);
    if (cold) await Promise.all(cold);
    return this.current(entryIds, now);
  }

  /** The snapshot without waiting, when every entry is known here (the hot path); undefined when one must be read. */
  snapshotNow(entryIds: readonly string[]): CooldownSnapshot | undefined {
    const now = this.clock.now();
    if (this.coldReads(entryIds, now)) return undefined;
    return this.current(entryIds, now);
  }

  /** Starts the reads these entries need: the first reads to wait for (null when none), re-reads in the background. */
  private coldReads(entryIds: readonly string[], now: number): Promise<void>[] | null {
    let cold: Promise<void>[] | null = null;
    for (const id of entryIds) {
      const readAt = this.readAt.get(id);
      if (readAt === undefined) (cold ??= []).push(this.firstRead(id, now));
      else if (this.reading.has(id)) (cold ??= []).push(this.reading.get(id)!); // a first read still under way
      else if (now - readAt > RECHECK_MS) void this.readShared(id, now);
    }
    return cold;
  }

  private current(entryIds: readonly string[], now: number): CooldownSnapshot {
    let cooldownUntil: Map<string, number> | null = null;
    let steerAway: Map<string, number> | null = null;
    for (const id of entryIds) {
      const c = this.until.cooldown.get(id);
      if (c !== undefined && c > now) (cooldownUntil ??= new Map()).set(id, c);
      const s = this.until.steer.get(id);
      if (s !== undefined && s > now) (steerAway ??= new Map()).set(id, s);
    }
    // nothing cooling down (the usual case): one shared empty map, never written to
    return { cooldownUntil: cooldownUntil ?? NONE, steerAway: steerAway ?? NONE };
  }

  private async share(kind: CooldownKind, id: string, ms: number): Promise<void> {
    const until = this.clock.now() + Math.max(1, Math.round(ms));
    this.note(kind, id, until);
    try {
      await this.kv.set(storeKey(kind, id), String(until), Math.max(1, Math.round(ms)));
      await this.kv.publish(CHANNEL, JSON.stringify({ id, kind, until } satisfies Announcement));
    } catch (err) {
      // This node still honours it; the others will find out from their own attempts.
      this.logger.warn({ err, entryId: id, kind }, 'could not share a cooldown');
    }
  }

  private firstRead(id: string, now: number): Promise<void> {
    const read = this.readShared(id, now).finally(() => this.reading.delete(id));
    this.reading.set(id, read);
    return read;
  }

  private async readShared(id: string, now: number): Promise<void> {
    this.readAt.set(id, now); // before the read, so concurrent requests do not all read
    try {
      const [cooldown, steer] = await Promise.all([this.kv.get(storeKey('cooldown', id)), this.kv.get(storeKey('steer', id))]);
      if (cooldown) this.note('cooldown', id, Number(cooldown));
      if (steer) this.note('steer', id, Number(steer));
    } catch (err) {
      this.readAt.delete(id);
      this.logger.warn({ err, entryId: id }, 'could not read a shared cooldown');
    }
  }

  private note(kind: CooldownKind, id: string, until: number): void {
    const map = this.until[kind];
    if (!Number.isFinite(until)) return;
    if (until > (map.get(id) ?? 0)) map.set(id, until);
    if (map.size > 10_000) this.prune(map);
  }

  private prune(map: Map<string, number>): void {
    const now = this.clock.now();
    for (const [id, until] of map) if (until <= now) map.delete(id);
  }
}
