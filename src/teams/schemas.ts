import { z } from 'zod';
import { TEAM_ROLES } from './access';

/** Team input. Ceilings: null = no ceiling. The budget is enforced per period (see teams/budget.ts, limits/). */

const MICROS_PER_USD = 1_000_000;
const limit = z.number().int().min(1).max(1_000_000_000).nullable();
const unique = <T>(list: T[]): T[] => [...new Set(list)];
// No control characters (NUL bytes included) in names: they end up in logs, audit rows and the console.
const name = z.string().trim().min(1).max(100).regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

const teamFields = {
  name,
  monthlyBudget: z
    .number()
    .min(0)
    .max(1_000_000_000)
    .nullable()
    .transform((usd) => (usd === null ? null : Math.round(usd * MICROS_PER_USD)))
    .describe("USD per budget period (monthly unless PUT /teams/:id/budget sets another period); null = none"),
  rpm: limit.describe("requests per minute ceiling on each of the team's keys; null = no ceiling"),
  tpm: limit.describe("tokens per minute ceiling on each of the team's keys; null = no ceiling"),
  services: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'is not a service slug'))
    .max(50)
    .transform(unique)
    .nullable()
    .describe("services the team's keys may use (on top of each key's own list); null = no ceiling"),
  models: z
    .array(z.string().trim().min(1).max(200).regex(/^[^\p{Cc}]+$/u, 'must not contain control characters'))
    .max(200)
    .transform(unique)
    .nullable()
    .describe("models the team's keys may use ('gpt-4o', 'openai/gpt-4o', 'gpt-4o*'); null = no ceiling"),
  ownPoolOnly: z
    .boolean()
    .describe("true: the team's keys route to the team's own wallet entries only, never to the shared pool"),
};

export const createTeamSchema = z.strictObject({
  name: teamFields.name,
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and - (at most 63)'),
  monthlyBudget: teamFields.monthlyBudget.optional(),
  rpm: teamFields.rpm.optional(),
  tpm: teamFields.tpm.optional(),
  services: teamFields.services.optional(),
  models: teamFields.models.optional(),
  ownPoolOnly: teamFields.ownPoolOnly.optional(),
});
export type CreateTeamInput = z.output<typeof createTeamSchema>;

export const updateTeamSchema = z
  .strictObject({
    name: teamFields.name.optional(),
    monthlyBudget: teamFields.monthlyBudget.optional(),
    rpm: teamFields.rpm.optional(),
    tpm: teamFields.tpm.optional(),
    services: teamFields.services.optional(),
    models: teamFields.models.optional(),
    ownPoolOnly: teamFields.ownPoolOnly.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');
export type UpdateTeamInput = z.output<typeof updateTeamSchema>;

export const addMemberSchema = z.strictObject({ userId: z.uuid(), role: z.enum(TEAM_ROLES).default('member') });
export const changeMemberSchema = z.strictObject({ role: z.enum(TEAM_ROLES) });

export const teamIdParams = z.object({ id: z.uuid() });
export const memberParams = z.object({ id: z.uuid(), userId: z.uuid() });

export const usdFromMicros = (micros: number | null): number | null => (micros === null ? null : micros / MICROS_PER_USD);
