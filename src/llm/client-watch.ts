/**
 * Whether the client hung up before its response was fully written. An AbortSignal would do, but creating
 * one costs more on Node 20 than the whole check; this is one 'close' listener on the response.
 */
export class ClientWatch {
  private gone = false;
  private listeners: (() => void)[] = [];

  constructor(res: { once(event: 'close', listener: () => void): unknown; readonly writableFinished: boolean }) {
    res.once('close', () => {
      if (res.writableFinished) return;
      this.gone = true;
      for (const listener of this.listeners.splice(0)) listener();
    });
  }

  get aborted(): boolean {
    return this.gone;
  }

  /** Runs `listener` once when the client goes (at once if it already has). */
  onAbort(listener: () => void): void {
    if (this.gone) listener();
    else this.listeners.push(listener);
  }
}
