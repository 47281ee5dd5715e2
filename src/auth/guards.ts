import type Koa from 'koa';
import type { Db } from '../store/db';
import { AppError } from '../http/errors';
import type { AppContext } from '../http/context';
import { verifyJwt, JwtSettings } from './jwt';
import { can, Permission } from './permissions';
import { ConsoleSessions, SESSION_COOKIE } from './console-sessions';
import type { UserRow } from './users';

function bearer(ctx: AppContext): string | null {
  const h = ctx.get('authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : null;
}

/** Methods that change nothing: a cookie-authenticated call needs the CSRF token for every other one. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface JwtGuardOptions {
  /** the session, password and profile routes stay open while the user must change their password */
  allowPendingPasswordChange?: boolean;
}

async function userFromJwt(db: Db, settings: JwtSettings, token: string): Promise<UserRow> {
  const claims = verifyJwt(settings, token);
  if (!claims) throw new AppError('unauthorized', 'Invalid or expired token');
  const user = (await db('users').where({ id: claims.sub }).first()) as UserRow | undefined;
  if (!user || user.disabled || user.token_version !== claims.ver) throw new AppError('unauthorized', 'Invalid or expired token');
  return user;
}

async function userFromSession(ctx: AppContext, sessions: ConsoleSessions, token: string): Promise<UserRow> {
  const resolved = await sessions.resolve(token);
  if (!resolved) throw new AppError('unauthorized', 'Your session has expired or ended; sign in again');
  if (!SAFE_METHODS.has(ctx.method) && !sessions.csrfMatches(resolved.session.id, ctx.get('x-csrf-token') || undefined)) {
    throw new AppError('csrf_failed', 'Missing or wrong CSRF token (x-csrf-token header)');
  }
  ctx.state.session = { id: resolved.session.id };
  return resolved.user;
}

/**
 * Management authentication: a Bearer JWT (HS256) or the console's session cookie (with the CSRF token on
 * every state-changing call). Either way the user must still exist, not be disabled, and not have changed
 * password since. The user is read on every request (management traffic is light), so all of it takes
 * effect at once on every node. A Bearer header wins over a cookie (scripts never need CSRF tokens).
 * The /v1 and /proxy guard is a different one (keys/verify.ts): it never reads the cookie.
 */
export function jwtGuard(db: Db, settings: JwtSettings, sessions: ConsoleSessions, opts: JwtGuardOptions = {}): Koa.Middleware {
  return async (ctx: AppContext, next) => {
    const token = bearer(ctx);
    const cookie = token ? undefined : ctx.cookies.get(SESSION_COOKIE);
    if (!token && !cookie) throw new AppError('unauthorized', 'Missing bearer token');
    const user = token ? await userFromJwt(db, settings, token) : await userFromSession(ctx, sessions, cookie!);
    if (user.must_change_password && !opts.allowPendingPasswordChange) {
      throw new AppError('password_change_required', 'Change your password first (POST /auth/password)');
    }
    ctx.state.user = { id: user.id, email: user.email, role: user.role, planId: user.plan_id };
    await next();
  };
}

export function permissionGuard(permission: Permission): Koa.Middleware {
  return async (ctx: AppContext, next) => {
    const user = ctx.state.user;
    if (!user) throw new AppError('unauthorized', 'Not authenticated');
    if (!can(user.role, permission)) throw new AppError('forbidden', `Role ${user.role} may not ${permission}`);
    await next();
  };
}
