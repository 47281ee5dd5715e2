import { startTestGateway, TestGateway } from '../helpers/gateway';
import { createSharedBackend, SharedBackend } from '../helpers/backend';
import { eventually, makePlan, movableClock, principalFor, tally } from '../helpers/limits';
import { creditCounterKey } from '../../src/limits/checks';

/** Two gateway processes' worth of state (each its own pools, caches and subscriptions) on one PostgreSQL + Redis. */
describe('limits across two gateway nodes (postgres + redis)', () => {
  const clock = movableClock('2030-05-20T09:00:30.000Z');
  let backend: SharedBackend;
  let a: TestGateway;
  let b: TestGateway;
  let admin: string;
  beforeAll(async () => {
    backend = await createSharedBackend();
    a = await startTestGateway({ backend, clock });
    b = await startTestGateway({ backend, clock });
    admin = (await a.user('admin')).token;
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await backend.drop();
  });

  const req = (estimatedCostMicros = 0) => ({ estimatedTokens: 0, estimatedCostMicros });

  it('admits exactly 50 of 100 concurrent requests split across both nodes against 50 per minute', async () => {
    const p = await principalFor(a, await makePlan(a, { rpm: 50 }));
    const calls = Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).deps.limits.admit(p, req()));
    const { ok, refused } = await tally(calls);
    expect(ok.length).toBe(50);
    expect(refused).toEqual({ rate_limited: 50 });
  });

  it('lets at most 10 of 100 concurrent requests on two nodes spend a budget that covers 10', async () => {
    const p = await principalFor(a, await makePlan(a, { monthlyCreditsMicros: 10_000 }));
    const { ok, refused } = await tally(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).deps.limits.admit(p, req(1000))));
    expect(ok.length).toBe(10);
    expect(refused).toEqual({ insufficient_credits: 90 });
    const [spent] = await a.deps.kv.peek([{ key: creditCounterKey('user', p.userId, '2030-05') }], clock.now());
    expect(spent).toBe(10_000);
    // a refund on one node frees budget for the other
    await a.deps.limits.refund(ok[0]);
    await b.deps.limits.admit(p, req(1000));
    await expect(a.deps.limits.admit(p, req(1))).rejects.toMatchObject({ code: 'insufficient_credits' });
  });

  it('applies a plan change made on one node to the next request on the other within a second', async () => {
    const planId = await makePlan(a, { rpm: 1 });
    const p = await principalFor(a, planId);
    await b.deps.limits.allowances.planById(planId); // node b has the plan cached
    await b.deps.limits.admit(p, req());
    await expect(b.deps.limits.admit(p, req())).rejects.toMatchObject({ code: 'rate_limited' });
    expect((await a.request(`/plans/${planId}`, { method: 'PATCH', token: admin, body: { rpm: 3 } })).status).toBe(200);
    await eventually(async () => (await b.deps.limits.allowances.planById(planId))?.rpm === 3, 1000);
    await b.deps.limits.admit(p, req());
    await b.deps.limits.admit(p, req());
    await expect(b.deps.limits.admit(p, req())).rejects.toMatchObject({ message: expect.stringContaining('3 requests per minute') });
  });

  it('makes a top-up on one node spendable on the other within a second', async () => {
    const p = await principalFor(a, await makePlan(a, { monthlyCreditsMicros: 1000 }));
    await b.deps.limits.admit(p, req(1000));
    await expect(b.deps.limits.admit(p, req(1000))).rejects.toMatchObject({ code: 'insufficient_credits' });
    expect((await a.request(`/users/${p.userId}/credits`, { token: admin, body: { amount: 0.001, reason: 'more' } })).status).toBe(201);
    await eventually(async () => (await b.deps.limits.allowances.topUpsOf(p.userId, '2030-05')).userMicros === 1000, 1000);
    await b.deps.limits.admit(p, req(1000));
  });
});
