import { z } from 'zod';

/** GET /wallet/health's response, for the OpenAPI document (the console's generated types). */
const quota = z.object({
  limit: z.number(),
  unit: z.enum(['requests', 'tokens', 'credits']),
  period: z.enum(['minute', 'hour', 'day', 'month']),
  used: z.number().optional().describe('absent when the counter store could not be read'),
  remaining: z.number().optional(),
  resetsAt: z.string().optional(),
});

const entry = z.object({
  id: z.string(),
  service: z.string(),
  label: z.string(),
  tier: z.enum(['free', 'paid']),
  priority: z.number().int(),
  weight: z.number().int(),
  environment: z.enum(['live', 'test']),
  status: z.enum(['active', 'disabled', 'invalid']),
  statusReason: z.string().nullable(),
  secretHint: z.string(),
  keyVersion: z.number().int(),
  quota: quota.nullable(),
  metadata: z.record(z.string(), z.unknown()),
  lastUsedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  cooldown: z.object({ until: z.string(), secondsLeft: z.number().int() }).nullable().describe('taken out of routing until then'),
  steeredAwayUntil: z.string().nullable().describe('moved to the back of the line (upstream said no capacity left) until then'),
});

const tierCounts = z.object({ free: z.number().int(), paid: z.number().int(), none: z.number().int(), deleted: z.number().int() });

export const walletHealthResponse = z.object({
  at: z.string(),
  counts: z.object({
    total: z.number().int(),
    byStatus: z.object({ active: z.number().int(), disabled: z.number().int(), invalid: z.number().int() }),
    coolingDown: z.number().int(),
  }),
  last24h: z.object({
    requests: tierCounts.describe("by the serving entry's current tier; none: no entry (refused before routing); deleted: entry gone"),
    freeShare: z.number().nullable().describe('free / (free + paid); null without routed requests'),
  }),
  keyVersions: z.object({
    current: z.number().int(),
    configured: z.array(z.number().int()),
    entries: z.array(z.object({ version: z.number().int(), entries: z.number().int() })),
    toRewrap: z.number().int().describe('entries not yet sealed under the current master key'),
  }),
  entries: z.array(entry),
});
