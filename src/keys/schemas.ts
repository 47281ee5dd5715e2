import { z } from 'zod';
import { isValidCidr, isValidReferrerPattern } from '../http/ip-allow';
import { SCOPES } from './principal';

/** Gateway-key input, shared by the HTTP routes and the CLI so both accept exactly the same things. */

const MICROS_PER_CREDIT = 1_000_000;
const MAX_GRACE_SECONDS = 7 * 24 * 3600;

const unique = <T>(list: T[]): T[] => [...new Set(list)];

export const scopesSchema = z.array(z.enum(SCOPES)).min(1, 'at least one scope is required').max(SCOPES.length * 2).transform(unique);
const servicesSchema = z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'is not a service slug')).max(50).transform(unique);
const modelsSchema = z.array(z.string().trim().min(1).max(200)).max(200).transform(unique);
const ipsSchema = z
  .array(z.string().trim().refine(isValidCidr, 'is not an IP address or CIDR range (IPv4 or IPv6)'))
  .max(100)
  .transform(unique);
const referrersSchema = z
  .array(z.string().trim().max(300).refine(isValidReferrerPattern, "is not a referrer pattern (e.g. 'https://app.example.com', '*.example.com')"))
  .max(100)
  .transform(unique);
const limitValue = z.number().int().min(1).max(1_000_000_000).nullable().optional();
export const limitsSchema = z.strictObject({ rpm: limitValue, rph: limitValue, rpd: limitValue, tpm: limitValue });
/** credits = USD, kept as integer micro-USD */
const creditsSchema = z.number().min(0).max(1_000_000_000).transform((c) => Math.round(c * MICROS_PER_CREDIT));
const expiresAtSchema = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** Restrictions a key may carry, on create and on update alike (null clears one). */
const restrictionFields = {
  services: servicesSchema.nullable().optional(),
  models: modelsSchema.nullable().optional(),
  allowedIps: ipsSchema.nullable().optional(),
  allowedReferrers: referrersSchema.nullable().optional(),
  expiresAt: expiresAtSchema.nullable().optional(),
  limits: limitsSchema.nullable().optional(),
  monthlyCredits: creditsSchema.nullable().optional(),
};

export const createKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  environment: z.enum(['live', 'test']).default('live'),
  scopes: scopesSchema,
  ...restrictionFields,
  /** admins may create a key for someone else */
  userId: z.uuid().optional(),
  /** the key's team: its owner must be a member; the team's ceilings then apply to the key */
  teamId: z.uuid().optional(),
});
export type CreateKeyInput = z.output<typeof createKeySchema>;

export const updateKeySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    scopes: scopesSchema.optional(),
    ...restrictionFields,
    /**
     * move the key to another team (null: out of any team): admins; or a team admin of the team it leaves and of
     * the team it joins, whose member its owner is. Takes effect on every node's next request.
     */
    teamId: z.uuid().nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
export type UpdateKeyInput = z.output<typeof updateKeySchema>;

export const rotateKeySchema = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
  gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(0),
});
export type RotateKeyInput = z.output<typeof rotateKeySchema>;

export const bulkRotateSchema = rotateKeySchema
  .extend({
    ids: z.array(z.uuid()).min(1).max(1000).optional(),
    userId: z.uuid().optional(),
  })
  .refine((b) => (b.ids ? 1 : 0) + (b.userId ? 1 : 0) === 1, 'give exactly one of ids or userId');
export type BulkRotateInput = z.output<typeof bulkRotateSchema>;

export const creditsFromMicros = (micros: number | null): number | null =>
  micros === null ? null : micros / MICROS_PER_CREDIT;
