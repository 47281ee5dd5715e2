/**
 * A FIFO with O(1) amortised push, drop-oldest and take: an array read from a moving head, compacted once
 * the consumed prefix outgrows the live part (Array#shift would make every take O(n)).
 */
export class FifoQueue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Removes up to n items from the front and returns them. */
  take(n: number): T[] {
    const end = Math.min(this.head + n, this.items.length);
    const out = this.items.slice(this.head, end);
    this.advance(end - this.head);
    return out;
  }

  /** Discards up to n items from the front; returns how many went. */
  dropOldest(n: number): number {
    const dropped = Math.min(n, this.length);
    this.advance(dropped);
    return dropped;
  }

  private advance(n: number): void {
    this.head += n;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
