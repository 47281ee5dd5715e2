import jwt from 'jsonwebtoken';
import type { Role } from './permissions';

export interface JwtSettings {
  secret: string;
  issuer: string;
  ttlSeconds: number;
  /** no token lives longer: longer lifetimes are refused when minting and tokens reaching further are refused */
  maxTtlSeconds: number;
}

export interface JwtClaims {
  sub: string;
  role: Role;
  /** the user's token version when it was issued (users.token_version); absent in older tokens = 0 */
  ver: number;
}

/** Asked for a token lifetime above JWT_MAX_TTL_SECONDS (or below a minute). */
export class TokenLifetimeError extends Error {
  readonly code = 'invalid_ttl';
  constructor(readonly ttlSeconds: number, readonly maxTtlSeconds: number) {
    super(
      ttlSeconds > maxTtlSeconds
        ? `a token lifetime of ${ttlSeconds} s exceeds JWT_MAX_TTL_SECONDS (${maxTtlSeconds} s = ${describeSeconds(maxTtlSeconds)})`
        : `a token lifetime must be a whole number of seconds between 60 and ${maxTtlSeconds} (JWT_MAX_TTL_SECONDS)`,
    );
    this.name = 'TokenLifetimeError';
  }
}

function describeSeconds(s: number): string {
  if (s % 86_400 === 0) return `${s / 86_400} days`;
  if (s % 3_600 === 0) return `${s / 3_600} hours`;
  return `${Math.round(s / 60)} minutes`;
}

/** Clock skew allowed between the node that minted a token and the one checking its lifetime. */
const SKEW_SECONDS = 60;

/** HS256 only, with issuer and expiry: a token signed another way (or `alg: none`) never verifies. */
export function signJwt(settings: JwtSettings, claims: JwtClaims, ttlSeconds = settings.ttlSeconds): string {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > settings.maxTtlSeconds) {
    throw new TokenLifetimeError(ttlSeconds, settings.maxTtlSeconds);
  }
  return jwt.sign({ role: claims.role, ver: claims.ver }, settings.secret, {
    algorithm: 'HS256',
    subject: claims.sub,
    issuer: settings.issuer,
    expiresIn: ttlSeconds,
  });
}

/**
 * jsonwebtoken checks `exp` only when a token has one, so a token without it would live forever: `exp` is
 * required here, and one further away than JWT_MAX_TTL_SECONDS is refused too (tokens minted before the cap).
 */
export function verifyJwt(settings: JwtSettings, token: string, nowMs = Date.now()): JwtClaims | null {
  try {
    const payload = jwt.verify(token, settings.secret, { algorithms: ['HS256'], issuer: settings.issuer, clockTimestamp: Math.floor(nowMs / 1000) });
    if (typeof payload !== 'object' || typeof payload.sub !== 'string' || typeof payload.role !== 'string') return null;
    if (typeof payload.exp !== 'number' || payload.exp > nowMs / 1000 + settings.maxTtlSeconds + SKEW_SECONDS) return null;
    return { sub: payload.sub, role: payload.role as Role, ver: typeof payload.ver === 'number' ? payload.ver : 0 };
  } catch {
    return null;
  }
}
