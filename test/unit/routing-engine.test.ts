import { orderCandidates, RoutableEntry, RoutingState } from '../../src/routing/engine';

let seq = 0;
function entry(over: Partial<RoutableEntry> = {}): RoutableEntry {
  seq += 1;
  return {
    id: over.id ?? `e${seq}`,
    service: 'stripe',
    label: `entry ${seq}`,
    tier: 'paid',
    priority: 100,
    weight: 1,
    environment: 'live',
    status: 'active',
    quota: null,
    ...over,
  };
}

function state(over: Partial<RoutingState> = {}): RoutingState {
  return { cooldownUntil: new Map(), quotaExhausted: new Set(), steerAway: new Map(), leastUsed: new Map(), ...over };
}

/** A deterministic sequence of "random" numbers. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

const NOW = 1_700_000_000_000;
const req = { service: 'stripe', environment: 'live' as const };
const ids = (list: RoutableEntry[]) => list.map((e) => e.id);

describe('orderCandidates', () => {
  it('puts the free tier before paid, then lower priority first', () => {
    const entries = [
      entry({ id: 'paid-1', tier: 'paid', priority: 1 }),
      entry({ id: 'free-50', tier: 'free', priority: 50 }),
      entry({ id: 'free-10', tier: 'free', priority: 10 }),
      entry({ id: 'paid-0', tier: 'paid', priority: 0 }),
    ];
    const { ordered, skipped } = orderCandidates(entries, state(), NOW, req);
    expect(ids(ordered)).toEqual(['free-10', 'free-50', 'paid-0', 'paid-1']);
    expect(skipped).toEqual([]);
  });

  it('keeps only entries of the service and of the caller environment', () => {
    const entries = [
      entry({ id: 'live' }),
      entry({ id: 'test', environment: 'test' }),
      entry({ id: 'other-service', service: 'openai' }),
    ];
    expect(ids(orderCandidates(entries, state(), NOW, req).ordered)).toEqual(['live']);
    const testReq = { service: 'stripe', environment: 'test' as const };
    const result = orderCandidates(entries, state(), NOW, testReq);
    expect(ids(result.ordered)).toEqual(['test']);
    expect(result.skipped).toEqual([]); // other environments are not "skipped": they were never candidates
  });

  it('skips disabled, invalid, cooling-down and out-of-quota entries with the reason', () => {
    const entries = [
      entry({ id: 'ok' }),
      entry({ id: 'disabled', status: 'disabled' }),
      entry({ id: 'invalid', status: 'invalid' }),
      entry({ id: 'cool' }),
      entry({ id: 'spent' }),
      entry({ id: 'cool-expired' }),
    ];
    const s = state({
      cooldownUntil: new Map([['cool', NOW + 5000], ['cool-expired', NOW - 1]]),
      quotaExhausted: new Set(['spent']),
    });
    const { ordered, skipped } = orderCandidates(entries, s, NOW, { ...req, strategy: 'least_used', random: () => 0 });
    expect(ids(ordered).sort()).toEqual(['cool-expired', 'ok']);
    expect(skipped).toEqual([
      { id: 'disabled', reason: 'disabled' },
      { id: 'invalid', reason: 'invalid' },
      { id: 'cool', reason: 'cooling_down', until: NOW + 5000 },
      { id: 'spent', reason: 'quota_exhausted' },
    ]);
  });

  it('a disabled entry is reported as disabled even while cooling down', () => {
    const s = state({ cooldownUntil: new Map([['d', NOW + 1000]]) });
    expect(orderCandidates([entry({ id: 'd', status: 'disabled' })], s, NOW, req).skipped).toEqual([{ id: 'd', reason: 'disabled' }]);
  });

  it('draws among equals by weight (injected random source)', () => {
    const entries = [entry({ id: 'a', weight: 1 }), entry({ id: 'b', weight: 3 })];
    // total 4: a covers [0,1), b covers [1,4)
    expect(ids(orderCandidates(entries, state(), NOW, { ...req, random: sequence(0.1) }).ordered)).toEqual(['a', 'b']);
    expect(ids(orderCandidates(entries, state(), NOW, { ...req, random: sequence(0.5) }).ordered)).toEqual(['b', 'a']);
    expect(ids(orderCandidates(entries, state(), NOW, { ...req, random: sequence(0.2499) }).ordered)).toEqual(['a', 'b']);
    expect(ids(orderCandidates(entries, state(), NOW, { ...req, random: sequence(0.25) }).ordered)).toEqual(['b', 'a']);
  });

  it('weighted draws follow the weights over many requests', () => {
    const entries = [entry({ id: 'a', weight: 1 }), entry({ id: 'b', weight: 3 })];
    let x = 0;
    const lcg = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let firstB = 0;
    for (let i = 0; i < 4000; i++) {
      if (orderCandidates(entries, state(), NOW, { ...req, random: lcg }).ordered[0].id === 'b') firstB += 1;
    }
    expect(firstB / 4000).toBeGreaterThan(0.7);
    expect(firstB / 4000).toBeLessThan(0.8);
  });

  it('an entry with weight 0 is drawn only after the weighted ones', () => {
    const entries = [entry({ id: 'zero', weight: 0 }), entry({ id: 'one', weight: 1 })];
    for (const r of [0, 0.5, 0.999999]) {
      expect(ids(orderCandidates(entries, state(), NOW, { ...req, random: () => r }).ordered)).toEqual(['one', 'zero']);
    }
  });

  it('a random source returning 1 does not break the draw', () => {
    const entries = [entry({ id: 'a', weight: 2 }), entry({ id: 'b', weight: 2 })];
    expect(ids(orderCandidates(entries, state(), NOW, { ...req, strategy: 'weighted', random: () => 1 }).ordered).sort()).toEqual(['a', 'b']);
  });

  it('takes the least used first among equal weights (auto) and breaks ties randomly', () => {
    const entries = [entry({ id: 'a' }), entry({ id: 'b' }), entry({ id: 'c' })];
    const s = state({ leastUsed: new Map([['a', 5], ['b', 1], ['c', 3]]) });
    expect(ids(orderCandidates(entries, s, NOW, req).ordered)).toEqual(['b', 'c', 'a']);
    const tie = state({ leastUsed: new Map([['a', 2], ['b', 2]]) });
    const two = [entry({ id: 'a' }), entry({ id: 'b' })];
    expect(ids(orderCandidates(two, tie, NOW, { ...req, random: sequence(0.9, 0.1) }).ordered)).toEqual(['b', 'a']);
    expect(ids(orderCandidates(two, tie, NOW, { ...req, random: sequence(0.1, 0.9) }).ordered)).toEqual(['a', 'b']);
  });

  it('the least_used strategy ignores weights; the weighted strategy ignores use', () => {
    const entries = [entry({ id: 'heavy', weight: 100 }), entry({ id: 'light', weight: 1 })];
    const s = state({ leastUsed: new Map([['heavy', 10]]) });
    expect(ids(orderCandidates(entries, s, NOW, { ...req, strategy: 'least_used' }).ordered)).toEqual(['light', 'heavy']);
    expect(ids(orderCandidates(entries, s, NOW, { ...req, strategy: 'weighted', random: () => 0.5 }).ordered)).toEqual(['heavy', 'light']);
  });

  it('weight and use only order entries of the same tier and priority', () => {
    const entries = [entry({ id: 'paid-heavy', weight: 1000 }), entry({ id: 'free-light', tier: 'free', weight: 1 })];
    const s = state({ leastUsed: new Map([['free-light', 1000]]) });
    expect(ids(orderCandidates(entries, s, NOW, { ...req, random: () => 0.99 }).ordered)).toEqual(['free-light', 'paid-heavy']);
  });

  it('moves entries whose upstream reported no capacity to the end, until the reset', () => {
    const entries = [entry({ id: 'free', tier: 'free' }), entry({ id: 'paid', priority: 500 })];
    const steered = state({ steerAway: new Map([['free', NOW + 1000]]) });
    const result = orderCandidates(entries, steered, NOW, req);
    expect(ids(result.ordered)).toEqual(['paid', 'free']);
    expect(result.explain()[1]).toMatchObject({ steered: true });
    expect(result.explain()[1].why).toMatch(/tried last/);
    expect(ids(orderCandidates(entries, steered, NOW + 1000, req).ordered)).toEqual(['free', 'paid']);
  });

  it('explains each place: tier, priority, weight and how equals were ordered', () => {
    const entries = [entry({ id: 'a', tier: 'free', priority: 5, weight: 1 }), entry({ id: 'b', tier: 'free', priority: 5, weight: 3 }), entry({ id: 'c', priority: 7 })];
    const explained = orderCandidates(entries, state(), NOW, { ...req, random: () => 0 }).explain();
    expect(explained.map((c) => c.why)).toEqual([
      'free tier, priority 5, weight 1 of 4, weighted draw',
      'free tier, priority 5, weight 3 of 4, weighted draw',
      'paid tier, priority 7',
    ]);
  });

  it('returns nothing to try when every entry is skipped', () => {
    const entries = [entry({ id: 'x', status: 'invalid' }), entry({ id: 'y' })];
    const result = orderCandidates(entries, state({ quotaExhausted: new Set(['y']) }), NOW, req);
    expect(result.ordered).toEqual([]);
    expect(result.skipped.map((s) => s.reason)).toEqual(['invalid', 'quota_exhausted']);
  });

  it('does not mutate its input', () => {
    const entries = Object.freeze([entry({ id: 'p', priority: 9 }), entry({ id: 'q', priority: 1 })]);
    orderCandidates(entries, state(), NOW, req);
    expect(ids([...entries])).toEqual(['p', 'q']);
  });
});
