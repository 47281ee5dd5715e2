import jwt from 'jsonwebtoken';
import type { Role } from './permissions';

export interface JwtSettings {
  secret: string;
  issuer: string;
  ttlSeconds: number;
}

export interface JwtClaims {
  sub: string;
  role: Role;
  /** the user's token version when it was issued (users.token_version); absent in older tokens = 0 */
  ver: number;
}

/** HS256 only, with issuer and expiry: a token signed another way (or `alg: none`) never verifies. */
export function signJwt(settings: JwtSettings, claims: JwtClaims, ttlSeconds = settings.ttlSeconds): string {
  return jwt.sign({ role: claims.role, ver: claims.ver }, settings.secret, {
    algorithm: 'HS256',
    subject: claims.sub,
    issuer: settings.issuer,
    expiresIn: ttlSeconds,
  });
}

export function verifyJwt(settings: JwtSettings, token: string): JwtClaims | null {
  try {
    const payload = jwt.verify(token, settings.secret, { algorithms: ['HS256'], issuer: settings.issuer });
    if (typeof payload !== 'object' || typeof payload.sub !== 'string' || typeof payload.role !== 'string') return null;
    return { sub: payload.sub, role: payload.role as Role, ver: typeof payload.ver === 'number' ? payload.ver : 0 };
  } catch {
    return null;
  }
}
