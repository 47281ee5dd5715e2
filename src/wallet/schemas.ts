import { z } from 'zod';

/**
 * Request bodies of /wallet/keys. Messages name the field and the rule, never the value: the value of
 * `secret` must not come back in an error.
 */

export const secretSchema = z
  .string()
  .trim()
  .min(8, 'must be at least 8 characters')
  .max(4096, 'must be at most 4096 characters')
  .regex(/^[^\s\x00-\x1f\x7f]+$/, 'must not contain whitespace or control characters');

export const quotaSchema = z
  .object({
    /** requests, tokens, or credits (USD) per period */
    limit: z.number().positive().max(1e12),
    unit: z.enum(['requests', 'tokens', 'credits']),
    period: z.enum(['minute', 'hour', 'day', 'month']),
  })
  .strict()
  .refine((q) => q.unit === 'credits' || Number.isInteger(q.limit), { message: 'must be a whole number for requests and tokens', path: ['limit'] });

const metadataSchema = z
  .record(z.string(), z.unknown())
  .refine((m) => JSON.stringify(m).length <= 4096, 'must be at most 4 KB of JSON');

const entryFields = {
  label: z.string().trim().min(1).max(200),
  tier: z.enum(['free', 'paid']),
  /** lower is tried first */
  priority: z.number().int().min(0).max(1_000_000),
  weight: z.number().int().min(1).max(1000),
  environment: z.enum(['live', 'test']),
  quota: quotaSchema.nullable(),
  metadata: metadataSchema,
  /** a team's own pool (that team's keys try it first; no other key ever uses it); null: the shared pool */
  teamId: z.uuid().nullable(),
};

export const createEntrySchema = z
  .object({
    secret: secretSchema,
    /** detected from the secret's format when omitted */
    service: z.string().min(1).max(64).optional(),
    label: entryFields.label,
    tier: entryFields.tier.default('paid'),
    priority: entryFields.priority.default(100),
    weight: entryFields.weight.default(1),
    /** `test` for sk_test_-style secrets, `live` otherwise, when omitted */
    environment: entryFields.environment.optional(),
    quota: entryFields.quota.optional(),
    metadata: entryFields.metadata.default({}),
    teamId: entryFields.teamId.optional(),
  })
  .strict();

export const updateEntrySchema = z
  .object({ ...entryFields, status: z.enum(['active', 'disabled']) })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');

export const replaceSecretSchema = z.object({ secret: secretSchema }).strict();

export const MAX_IMPORT_ENTRIES = 1000;

/** A JSON array of create bodies, `{dotenv: "..."}`, or the dotenv text itself (text/plain). */
export const importBodySchema = z.union([
  z.array(z.unknown()).max(MAX_IMPORT_ENTRIES),
  // teamId: every dotenv entry into that team's pool
  z.object({ dotenv: z.string().max(1_000_000), teamId: z.uuid().optional() }).strict(),
  z.string().max(1_000_000),
]);

export const listQuerySchema = z
  .object({
    service: z.string().max(64).optional(),
    tier: z.enum(['free', 'paid']).optional(),
    status: z.enum(['active', 'disabled', 'invalid']).optional(),
    environment: z.enum(['live', 'test']).optional(),
    teamId: z.uuid().optional().describe("one team's pool"),
    pool: z.enum(['shared', 'team']).optional().describe('shared: entries in no team; team: entries in any team'),
  })
  .strict();

/** Exactly one of: these entries, or every invalid entry of this service. */
export const reactivateSchema = z
  .strictObject({
    ids: z.array(z.uuid()).min(1).max(1000).optional(),
    service: z.string().min(1).max(64).optional(),
  })
  .refine((b) => (b.ids ? 1 : 0) + (b.service ? 1 : 0) === 1, 'give exactly one of ids or service');

export type CreateEntryInput = z.output<typeof createEntrySchema>;
export type UpdateEntryInput = z.output<typeof updateEntrySchema>;
export type ReactivateInput = z.output<typeof reactivateSchema>;
