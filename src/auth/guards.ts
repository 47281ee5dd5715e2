import type Koa from 'koa';
import type { Db } from '../store/db';
import { AppError } from '../http/errors';
import type { AppContext } from '../http/context';
import { verifyJwt, JwtSettings } from './jwt';
import { can, Permission } from './permissions';

function bearer(ctx: AppContext): string | null {
  const h = ctx.get('authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : null;
}

/**
 * Management authentication: a valid HS256 JWT whose user still exists, is not disabled, and has not changed
 * password since (the token's version is the user's). The user is read on every request (management traffic is
 * light), so all of it takes effect at once on every node.
 */
export function jwtGuard(db: Db, settings: JwtSettings): Koa.Middleware {
  return async (ctx: AppContext, next) => {
    const token = bearer(ctx);
    if (!token) throw new AppError('unauthorized', 'Missing bearer token');
    const claims = verifyJwt(settings, token);
    if (!claims) throw new AppError('unauthorized', 'Invalid or expired token');
    const user = await db('users').where({ id: claims.sub }).first('id', 'email', 'role', 'plan_id', 'disabled', 'token_version');
    if (!user || user.disabled || user.token_version !== claims.ver) throw new AppError('unauthorized', 'Invalid or expired token');
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
