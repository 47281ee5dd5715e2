import { FifoQueue } from '../../src/usage/bounded-queue';

describe('FifoQueue', () => {
  it('takes in insertion order and drops from the front', () => {
    const q = new FifoQueue<number>();
    for (let i = 0; i < 10; i++) q.push(i);
    expect(q.dropOldest(3)).toBe(3);
    expect(q.take(4)).toEqual([3, 4, 5, 6]);
    expect(q.length).toBe(3);
    expect(q.take(100)).toEqual([7, 8, 9]);
    expect(q.dropOldest(1)).toBe(0);
    expect(q.length).toBe(0);
  });

  it('behaves like a plain array through many interleaved operations (compaction included)', () => {
    const q = new FifoQueue<number>();
    const reference: number[] = [];
    let next = 0;
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 20_000; step++) {
      const r = rand();
      if (r < 0.6) {
        q.push(next);
        reference.push(next++);
      } else if (r < 0.8) {
        const n = Math.floor(rand() * 50);
        expect(q.take(n)).toEqual(reference.splice(0, n));
      } else {
        const n = Math.floor(rand() * 5);
        expect(q.dropOldest(n)).toBe(Math.min(n, reference.length));
        reference.splice(0, n);
      }
      expect(q.length).toBe(reference.length);
    }
    expect(q.take(reference.length)).toEqual(reference);
  });
});
