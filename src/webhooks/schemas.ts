import { z } from 'zod';

/** Alert events a webhook may subscribe to. `webhook.test` is sent by POST /webhooks/:id/test only. */
export const ALERT_EVENTS = ['budget.threshold', 'wallet.entry_invalid', 'wallet.quota_threshold', 'wallet.free_tier_exhausted'] as const;
export type AlertEventType = (typeof ALERT_EVENTS)[number];
export type WebhookEventType = AlertEventType | 'webhook.test';
/** Wallet events concern the organisation's shared wallet: a team's webhook receives only its team's budget alerts. */
export const TEAM_EVENTS: readonly AlertEventType[] = ['budget.threshold'];

const MAX_URL_LENGTH = 2048;

function urlProblem(text: string): string | null {
  if (/[\u0000-\u0020\u007f-\u009f]/.test(text)) return 'must not contain whitespace or control characters';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not carry credentials (user:password@); authenticate the request by its signature';
  if (url.hash) return 'must not have a fragment';
  if (!url.hostname) return 'has no host';
  return null;
}

export const webhookUrl = z
  .string()
  .max(MAX_URL_LENGTH, `at most ${MAX_URL_LENGTH} characters`)
  .superRefine((text, ctx) => {
    const problem = urlProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('http(s) URL the alerts are POSTed to; a private, loopback or link-local host needs allowPrivate (admins only)');

const events = z
  .array(z.enum(ALERT_EVENTS))
  .min(1)
  .max(ALERT_EVENTS.length)
  .transform((list) => [...new Set(list)])
  .describe('alert events to receive; a team webhook may subscribe to budget.threshold only');

const description = z
  .string()
  .trim()
  .max(200)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
  .nullable();

export const createWebhookSchema = z.strictObject({
  url: webhookUrl,
  events: events.optional().describe('default: every event the webhook may receive'),
  teamId: z.uuid().nullable().optional().describe("the team whose budget alerts this webhook receives (a team admin's own team); null = organisation-wide (admins only)"),
  description: description.optional(),
  enabled: z.boolean().default(true),
  allowPrivate: z.boolean().default(false).describe('allow a private, loopback or link-local URL (admins only; e.g. a receiver on the same network)'),
});
export type CreateWebhookInput = z.output<typeof createWebhookSchema>;

export const updateWebhookSchema = z
  .strictObject({
    url: webhookUrl.optional(),
    events: events.optional(),
    description: description.optional(),
    enabled: z.boolean().optional(),
    allowPrivate: z.boolean().optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');
export type UpdateWebhookInput = z.output<typeof updateWebhookSchema>;

export const webhookIdParams = z.object({ id: z.uuid() });
export const listWebhooksQuery = z.object({ teamId: z.uuid().optional() });
export const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  status: z.enum(['pending', 'delivering', 'succeeded', 'failed']).optional(),
});
