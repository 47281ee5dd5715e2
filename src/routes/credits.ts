import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { can } from '../auth/permissions';
import { AppContext, auditActor } from '../http/context';
import { AppError, forbidden } from '../http/errors';
import { creditBalance, grantCredits } from '../limits/credits';
import { usdToMicros } from '../limits/format';

const userParams = z.object({ id: z.uuid() });

const grantSchema = z.strictObject({
  amount: z
    .number()
    .min(-1_000_000)
    .max(1_000_000)
    .refine((v) => v !== 0, 'must not be 0')
    .refine((v) => Math.abs(v * 1e6 - Math.round(v * 1e6)) < 1e-6, 'at most 6 decimal places')
    .describe('credits (USD) to add this month; negative takes back a mistaken top-up'),
  reason: z.string().trim().min(1).max(500),
});

const balanceQuery = z.object({
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month as YYYY-MM')
    .optional()
    .describe('calendar month (UTC); default the current one'),
});

/** A balance is visible to its owner and to whoever may read users. */
function assertMayRead(ctx: AppContext, userId: string): void {
  const me = ctx.state.user;
  if (!me) throw new AppError('unauthorized', 'Not authenticated');
  if (me.id !== userId && !can(me.role, 'users:read')) throw forbidden('You may only see your own credits');
}

/** /users/:id/credits: monthly credit balances and admin top-ups. */
export function creditsRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Credits')
    .route(
      {
        method: 'get',
        path: '/users/:id/credits',
        summary: "A user's credit balance for a month (their own, or anyone's for admins)",
        auth: 'jwt',
        params: userParams,
        query: balanceQuery,
      },
      async (ctx, { params, query }) => {
        assertMayRead(ctx, params.id);
        return creditBalance(deps, params.id, query.period);
      },
    )
    .route(
      {
        method: 'post',
        path: '/users/:id/credits',
        summary: 'Top up (or correct) a user’s credits for the current month',
        auth: 'jwt',
        permission: 'credits:write',
        params: userParams,
        body: grantSchema,
        status: 201,
      },
      async (ctx, { params, body }) =>
        grantCredits(deps, { userId: params.id, amountMicros: usdToMicros(body.amount), reason: body.reason }, auditActor(ctx)),
    ).router;
}
