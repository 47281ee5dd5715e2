import { boundedMemo } from '../../src/memo';

describe('boundedMemo', () => {
  it('computes a key once, null results included, and starts over when full', () => {
    const calls: string[] = [];
    const memo = boundedMemo(3, (key: string) => {
      calls.push(key);
      return key === 'none' ? null : key.toUpperCase();
    });
    expect([memo('a'), memo('a'), memo('none'), memo('none')]).toEqual(['A', 'A', null, null]);
    expect(calls).toEqual(['a', 'none']);
    memo('b'); // 3 keys held
    memo('c'); // full: forgotten, then c
    expect(memo('c')).toBe('C');
    expect(memo('a')).toBe('A');
    expect(calls).toEqual(['a', 'none', 'b', 'c', 'a']);
  });
});
