import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { AppError } from '../http/errors';
import { auditActor, clientIp } from '../http/context';
import { changePassword, login, presentMe, register } from '../auth/login';
import type { UserRow } from '../auth/users';
import { startConsoleSession } from './console-session';

const email = z.email().max(254).transform((e) => e.toLowerCase());
const newPassword = z.string().min(12, 'must be at least 12 characters').max(1024);
const loginBody = z.strictObject({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(1024) });
const registerBody = z.strictObject({ email, password: newPassword });
const passwordBody = z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword });

export function authRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Auth')
    .route(
      { method: 'post', path: '/auth/register', summary: 'Create a developer account (when ALLOW_REGISTRATION is set)', auth: 'none', body: registerBody, status: 201 },
      (ctx, { body }) => register(deps, body.email, body.password, auditActor(ctx)),
    )
    .route(
      { method: 'post', path: '/auth/login', summary: 'Exchange email and password for a JWT (limited per account and per IP)', auth: 'none', body: loginBody },
      (ctx, { body }) => login(deps, body.email, body.password, clientIp(ctx)),
    )
    .route(
      { method: 'get', path: '/auth/me', summary: 'The authenticated user and what their role allows', auth: 'jwt', allowPendingPasswordChange: true },
      async (ctx) => {
        const user = (await deps.db('users').where({ id: ctx.state.user!.id }).first()) as UserRow | undefined;
        if (!user) throw new AppError('unauthorized', 'Not authenticated');
        return presentMe(user);
      },
    )
    .route(
      {
        method: 'post',
        path: '/auth/password',
        summary: 'Change one’s own password (ends every session; answers with a fresh one — a new cookie for the console)',
        auth: 'jwt',
        allowPendingPasswordChange: true,
        body: passwordBody,
      },
      async (ctx, { body }) => {
        const session = await changePassword(deps, ctx.state.user!.id, body.currentPassword, body.newPassword, auditActor(ctx));
        if (!ctx.state.session) return { ok: true, ...session };
        const user = (await deps.db('users').where({ id: ctx.state.user!.id }).first()) as UserRow;
        // the console gets a new cookie, never a bearer token its scripts could read
        return { ok: true, ...(await startConsoleSession(deps, ctx, user)) };
      },
    ).router;
}
