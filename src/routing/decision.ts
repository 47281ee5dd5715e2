import { AppError } from '../http/errors';
import type { SkipReason } from './engine';
import type { AttemptRecord } from './router-types';

/** How a routing decision is told: the x-keywallet-route header, the log line, the final error. */

const short = (id: string) => id.slice(0, 8);

/** e.g. `1a2b3c4d:rate_limited>5e6f7a8b:ok; 3 candidates, 1 skipped` (ASCII, header-safe). */
export function decisionText(trail: readonly AttemptRecord[], candidates: number, skipped: number): string {
  const path = trail.map((t) => `${short(t.entryId)}:${t.outcome === 'skipped' ? t.reason ?? 'skipped' : t.outcome}`).join('>');
  const summary = `${candidates} candidate${candidates === 1 ? '' : 's'}${skipped ? `, ${skipped} skipped` : ''}`;
  return path ? `${path}; ${summary}` : summary;
}

function countBy(reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).join(', ');
}

/** 503: nothing could even be tried. A Retry-After says when the first cooldown ends, when that is the cause. */
export function noProviderKey(
  service: string,
  skipped: readonly { reason: SkipReason | string; until?: number }[],
  nowMs: number,
  decision: string,
): AppError {
  const why = skipped.length ? ` (${countBy(skipped.map((s) => s.reason))})` : ' (the wallet has no active key for it)';
  const untils = skipped.map((s) => s.until).filter((u): u is number => u !== undefined && u > nowMs);
  const headers: Record<string, string> = { 'x-keywallet-route': decision };
  if (untils.length) headers['retry-after'] = String(Math.max(1, Math.ceil((Math.min(...untils) - nowMs) / 1000)));
  return new AppError('no_provider_key', `No usable provider key for service '${service}'${why}`, { headers });
}

/** 502 naming every attempt (entry ids and outcomes, never secrets), or 504 when the last one timed out. */
export function allAttemptsFailed(service: string, trail: readonly AttemptRecord[], decision: string): AppError {
  const attempts = trail.filter((t) => t.outcome !== 'skipped');
  const list = attempts.map((t) => `${t.entryId} ${t.outcome}${t.status ? ` (${t.status})` : ''}`).join(', ');
  const last = attempts[attempts.length - 1];
  const n = attempts.length;
  const text = `${n} attempt${n === 1 ? '' : 's'} for service '${service}': ${list}`;
  const details = { attempts: attempts.map((t) => ({ entryId: t.entryId, outcome: t.outcome, status: t.status ?? null })) };
  const headers = { 'x-keywallet-route': decision };
  return last?.outcome === 'timeout'
    ? new AppError('upstream_timeout', `Upstream timed out after ${text}`, { details, headers })
    : new AppError('upstream_failed', `Upstream failed after ${text}`, { details, headers });
}
