import type { CounterState } from '../store/kv';
import { AppError } from '../http/errors';
import type { LabelledCheck } from './checks';
import { formatResetDuration, formatUsd, retryAfterSeconds, windowDrainMs } from './format';

/**
 * The response headers a limited request carries, built from the counters' states after `admit`:
 * - `x-ratelimit-{limit,remaining,reset}-requests` from the TIGHTEST request window (least remaining; key or user,
 *   minute, hour or day), `-tokens` from the key's tokens-per-minute window. Resets use OpenAI's format
 *   (`250ms`, `7s`, `6m0s`) and estimate when the used capacity has drained (at most one window).
 * - `x-keywallet-credits-remaining`: the smaller of the key's and the user's monthly balance, decimal USD.
 * A limit that is not set (unlimited) sends no header rather than a made-up number.
 */

const DESCRIBE = {
  rpm: 'requests per minute',
  rph: 'requests per hour',
  rpd: 'requests per day',
  tpm: 'tokens per minute',
  credits: 'monthly credits',
} as const;

const WHOSE = {
  key: 'this API key',
  user: 'this user',
  team_key: "this API key's share of its team's budget",
  member: "this member's share of the team's budget",
  team: "this API key's team",
  org: 'the organisation',
} as const;

function drainMs(c: LabelledCheck, s: CounterState, units: number): number {
  return windowDrainMs(units, c.limit, c.check.windowMs ?? 0, s.resetMs);
}

export function limitHeaders(checks: LabelledCheck[], states: CounterState[]): Record<string, string> {
  const headers: Record<string, string> = {};
  let tightest = -1;
  let credits: number | null = null;
  checks.forEach((c, i) => {
    const remaining = c.limit - states[i].used;
    if (c.name === 'rpm' || c.name === 'rph' || c.name === 'rpd') {
      if (tightest === -1 || remaining < checks[tightest].limit - states[tightest].used) tightest = i;
    } else if (c.name === 'tpm') {
      headers['x-ratelimit-limit-tokens'] = String(c.limit);
      headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, remaining));
      headers['x-ratelimit-reset-tokens'] = formatResetDuration(drainMs(c, states[i], states[i].used));
    } else {
      credits = credits === null ? remaining : Math.min(credits, remaining);
    }
  });
  if (tightest !== -1) {
    const c = checks[tightest];
    const s = states[tightest];
    headers['x-ratelimit-limit-requests'] = String(c.limit);
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, c.limit - s.used));
    headers['x-ratelimit-reset-requests'] = formatResetDuration(drainMs(c, s, s.used));
  }
  if (credits !== null) headers['x-keywallet-credits-remaining'] = formatUsd(Math.max(0, credits));
  return headers;
}

/**
 * The error for a refused admission: 429 with `Retry-After` for a rate limit, 402 for credits. `states` are the
 * counters before this request (a refused admission changes nothing).
 */
export function refusalError(checks: LabelledCheck[], states: CounterState[], blocked: number, month: string): AppError {
  const c = checks[blocked];
  const s = states[blocked];
  const headers = limitHeaders(checks, states);
  if (c.name === 'credits') {
    const period = c.budget?.window?.label ?? month;
    const what = c.budget?.window ? 'Budget' : 'Monthly credits';
    const message =
      `${what} exhausted for ${WHOSE[c.scope]}: $${formatUsd(s.used)} of $${formatUsd(c.limit)} used in ${period}, ` +
      `and this request needs up to $${formatUsd(c.check.cost)}`;
    return new AppError('insufficient_credits', message, { headers, details: { scope: c.scope, limit: 'credits', period } });
  }
  const windowMs = c.check.windowMs ?? 0;
  const tooLarge = c.check.cost > c.limit;
  const retryMs = tooLarge ? windowMs : drainMs(c, s, s.used + c.check.cost - c.limit);
  const retryAfter = retryAfterSeconds(retryMs);
  headers['retry-after'] = String(retryAfter);
  const message = tooLarge
    ? `Request too large for ${WHOSE[c.scope]}: about ${c.check.cost} tokens, over the limit of ${c.limit} ${DESCRIBE[c.name]}`
    : `Rate limit exceeded for ${WHOSE[c.scope]}: ${c.limit} ${DESCRIBE[c.name]}. Retry after ${retryAfter}s`;
  return new AppError('rate_limited', message, { headers, details: { scope: c.scope, limit: c.name, retryAfter } });
}
