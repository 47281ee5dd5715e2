import crypto from 'node:crypto';
import type { Clock } from '../../src/clock';
import type { GatewayPrincipal, RateLimits } from '../../src/keys/principal';
import type { TestGateway } from './gateway';

/** Helpers for driving LimitService directly with hand-built principals (plans and users made with SQL). */

export interface MovableClock extends Clock {
  set(iso: string): void;
  advance(ms: number): void;
}

export function movableClock(iso: string): MovableClock {
  let now = Date.parse(iso);
  return {
    now: () => now,
    set: (next) => (now = Date.parse(next)),
    advance: (ms) => (now += ms),
  };
}

export interface PlanSpec extends RateLimits {
  monthlyCreditsMicros?: number | null;
}

let planSeq = 0;

export async function makePlan(gw: TestGateway, spec: PlanSpec): Promise<string> {
  const id = `t${++planSeq}-${crypto.randomBytes(3).toString('hex')}`;
  await gw.deps.db('plans').insert({
    id,
    name: `Test plan ${id}`,
    rpm: spec.rpm ?? null,
    rph: spec.rph ?? null,
    rpd: spec.rpd ?? null,
    tpm: spec.tpm ?? null,
    monthly_credits_micros: spec.monthlyCreditsMicros ?? null,
  });
  return id;
}

export interface KeySpec {
  limits?: RateLimits | null;
  monthlyCreditsMicros?: number | null;
  keyId?: string;
}

/** A principal of a new user on `planId` (or of `userId`, sharing it), as keys/verify.ts would build it. */
export async function principalFor(gw: TestGateway, planId: string, key: KeySpec = {}, userId?: string): Promise<GatewayPrincipal> {
  const uid = userId ?? (await gw.user('developer', undefined, planId)).user.id;
  const plan = await gw.deps.db('plans').where({ id: planId }).first();
  return {
    keyId: key.keyId ?? crypto.randomUUID(),
    userId: uid,
    environment: 'live',
    scopes: ['chat', 'proxy', 'models', 'embeddings'],
    services: null,
    models: null,
    limits: key.limits ?? null,
    monthlyCreditsMicros: key.monthlyCreditsMicros ?? null,
    plan: {
      id: plan.id,
      rpm: plan.rpm,
      rph: plan.rph,
      rpd: plan.rpd,
      tpm: plan.tpm,
      monthlyCreditsMicros: plan.monthly_credits_micros,
      services: plan.services,
    },
  };
}

/** Settles every promise and counts fulfilments and rejections by AppError code. */
export async function tally<T>(promises: Promise<T>[]): Promise<{ ok: T[]; refused: Record<string, number> }> {
  const results = await Promise.allSettled(promises);
  const ok: T[] = [];
  const refused: Record<string, number> = {};
  for (const r of results) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else {
      const code = (r.reason as { code?: string }).code ?? String(r.reason);
      refused[code] = (refused[code] ?? 0) + 1;
    }
  }
  return { ok, refused };
}

/** Polls until `probe` returns true (cross-node invalidation is asynchronous), failing after `ms`. */
export async function eventually(probe: () => Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
