import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { AppError } from '../http/errors';
import { clientIp, type AppContext } from '../http/context';
import { authenticate } from '../auth/login';
import { clearedSessionCookie, SESSION_COOKIE, sessionCookie, type SessionRow } from '../auth/console-sessions';
import type { UserRow } from '../auth/users';

const loginBody = z.strictObject({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(1024) });

const sessionResponse = z.object({
  user: z.object({ id: z.string(), email: z.string(), role: z.enum(['admin', 'developer', 'analyst']), plan: z.string(), mustChangePassword: z.boolean() }),
  csrfToken: z.string(),
  expiresAt: z.string(),
});

/** The cookie is Secure over https (ctx.secure honours X-Forwarded-Proto only with TRUST_PROXY) and in production. */
const secureCookie = (deps: Deps, ctx: AppContext) => ctx.secure || deps.config.env === 'production';

/** The fields of a console session that may leave: who, the CSRF token for state-changing calls, when it ends. */
function presentSession(deps: Deps, session: SessionRow, user: UserRow): z.infer<typeof sessionResponse> {
  return {
    user: { id: user.id, email: user.email, role: user.role, plan: user.plan_id, mustChangePassword: user.must_change_password },
    csrfToken: deps.consoleSessions.csrfToken(session.id),
    expiresAt: deps.consoleSessions.endsAt(session).toISOString(),
  };
}

/** Starts a console session for the user: a new row, the cookie, and the body the console keeps. */
export async function startConsoleSession(deps: Deps, ctx: AppContext, user: UserRow) {
  const { token, session } = await deps.consoleSessions.create(user);
  ctx.set('set-cookie', sessionCookie(token, { secure: secureCookie(deps, ctx), maxAgeSeconds: deps.consoleSessions.ttlSeconds }));
  ctx.set('cache-control', 'no-store');
  return presentSession(deps, session, user);
}

/** The web console's cookie session: log in (same login limits as /auth/login), who am I, log out. */
export function consoleSessionRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Auth')
    .route(
      {
        method: 'post',
        path: '/auth/session',
        summary: 'Console login: email and password → an httpOnly session cookie and its CSRF token (limited like /auth/login)',
        auth: 'none',
        body: loginBody,
        response: sessionResponse,
      },
      async (ctx, { body }) => startConsoleSession(deps, ctx, await authenticate(deps, body.email, body.password, clientIp(ctx))),
    )
    .route(
      {
        method: 'get',
        path: '/auth/session',
        summary: 'The current console session, read from its cookie (401 when there is none)',
        auth: 'none',
        response: sessionResponse,
      },
      async (ctx) => {
        // the console's probe: only the cookie counts here (a Bearer caller has GET /auth/me)
        const resolved = await deps.consoleSessions.resolve(ctx.cookies.get(SESSION_COOKIE) ?? '');
        if (!resolved) throw new AppError('unauthorized', 'No console session, or it has expired or ended; sign in again');
        ctx.set('cache-control', 'no-store');
        return presentSession(deps, resolved.session, resolved.user);
      },
    )
    .route(
      { method: 'delete', path: '/auth/session', summary: 'Console logout: ends the session', auth: 'jwt', allowPendingPasswordChange: true },
      async (ctx) => {
        if (ctx.state.session) await deps.consoleSessions.end(ctx.state.session.id);
        ctx.set('set-cookie', clearedSessionCookie(secureCookie(deps, ctx)));
        ctx.status = 204;
      },
    ).router;
}
