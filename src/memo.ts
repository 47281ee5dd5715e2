/**
 * A function's results remembered by key, forgotten all at once when `max` keys are held: for inputs a client or
 * an admin chooses (addresses, header text, key patterns, URLs), which must never grow memory without bound.
 * `compute` must not return undefined (that is how a miss is told apart).
 */
export function boundedMemo<V>(max: number, compute: (key: string) => V): (key: string) => V {
  const known = new Map<string, V>();
  return (key) => {
    let value = known.get(key);
    if (value === undefined) {
      value = compute(key);
      if (known.size >= max) known.clear();
      known.set(key, value);
    }
    return value;
  };
}
