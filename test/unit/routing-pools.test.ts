import { orderCandidates, RoutableEntry, RoutingState } from '../../src/routing/engine';

/** Team pools in the pure routing core (issue 17): who may use which entry, and in which order. */
const NOW = 1_700_000_000_000;
const entry = (id: string, over: Partial<RoutableEntry> = {}): RoutableEntry => ({
  id, service: 'svc', label: id, tier: 'paid', priority: 100, weight: 1, environment: 'live', status: 'active', quota: null, teamId: null, ...over,
});
const state = (over: Partial<RoutingState> = {}): RoutingState => ({
  cooldownUntil: new Map(), quotaExhausted: new Set(), steerAway: new Map(), leastUsed: new Map(), ...over,
});
const entries = [
  entry('shared-free', { tier: 'free', priority: 0 }),
  entry('shared-paid', { priority: 5 }),
  entry('alpha-paid', { priority: 900, teamId: 'alpha' }),
  entry('alpha-free', { tier: 'free', priority: 999, teamId: 'alpha' }),
  entry('beta', { tier: 'free', priority: 0, teamId: 'beta' }),
];
const order = (team: { id: string; ownPoolOnly?: boolean } | null, st = state()) =>
  orderCandidates(entries, st, NOW, { service: 'svc', environment: 'live', team, random: () => 0.5 });

describe('team pools in orderCandidates', () => {
  it("puts the team's own entries first (in their usual order), then the shared pool; another team's never", () => {
    const r = order({ id: 'alpha' });
    expect(r.ordered.map((e) => e.id)).toEqual(['alpha-free', 'alpha-paid', 'shared-free', 'shared-paid']);
    expect(r.excluded).toEqual([{ id: 'beta', reason: 'other_team_pool' }]);
    expect(r.skipped).toEqual([]);
    expect(r.explain().map((c) => c.why)).toEqual([
      "the team's own pool, free tier, priority 999",
      "the team's own pool, paid tier, priority 900",
      "shared pool (fallback after the team's own), free tier, priority 0",
      "shared pool (fallback after the team's own), paid tier, priority 5",
    ]);
  });

  it('gives a key in no team the shared pool only, explained exactly as before teams', () => {
    const r = order(null);
    expect(r.ordered.map((e) => e.id)).toEqual(['shared-free', 'shared-paid']);
    expect(r.excluded.map((x) => x.id)).toEqual(['alpha-paid', 'alpha-free', 'beta']);
    expect(r.explain().map((c) => c.why)).toEqual(['free tier, priority 0', 'paid tier, priority 5']);
  });

  it('keeps an own-pool-only team to its own entries', () => {
    const r = order({ id: 'alpha', ownPoolOnly: true });
    expect(r.ordered.map((e) => e.id)).toEqual(['alpha-free', 'alpha-paid']);
    expect(r.excluded).toEqual([
      { id: 'shared-free', reason: 'team_own_pool_only' },
      { id: 'shared-paid', reason: 'team_own_pool_only' },
      { id: 'beta', reason: 'other_team_pool' },
    ]);
  });

  it("skips an unusable own entry with its reason, and tries an own entry its upstream steered away from after the shared pool", () => {
    const r = order({ id: 'alpha' }, state({ cooldownUntil: new Map([['alpha-free', NOW + 1000]]), steerAway: new Map([['alpha-paid', NOW + 1000]]) }));
    expect(r.ordered.map((e) => e.id)).toEqual(['shared-free', 'shared-paid', 'alpha-paid']);
    expect(r.skipped).toEqual([{ id: 'alpha-free', reason: 'cooling_down', until: NOW + 1000 }]);
  });
});
