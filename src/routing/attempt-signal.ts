import { EventEmitter } from 'node:events';

/**
 * What ends one upstream attempt (the service's timeout, the client leaving, `stop()`), handed to undici as the
 * request's `signal`: undici takes an EventEmitter with `aborted`, `reason` and an 'abort' event as readily as an
 * AbortSignal, and removes its listener when the request ends.
 *
 * Not an AbortController: on Node 20 an AbortSignal that has had a listener added and removed (what undici does
 * with every request) survives young-generation collection, and so does everything it references. Measured in a
 * loop of 1 M: ~2.2 KB more allocated per signal and 330 MB promoted to the old generation, against 0.3 MB for
 * this class. In the gateway at 400 requests/s that was a share of every request's routing state reaching the old
 * generation, where only a full collection frees it; each scavenge had that much more to copy.
 */
export class AttemptSignal extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}
