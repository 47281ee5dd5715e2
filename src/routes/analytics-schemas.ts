import { z } from 'zod';
import { GROUP_BY } from '../usage/analytics';
import { isDateOrInstant } from '../usage/range';
import { STATUS_CLASSES } from '../usage/rollup-hourly';
import { SERIES_GROUP_BY } from '../usage/timeseries';

/** The analytics routes' query and response schemas (the responses document the API; they are not checked at run time). */
const dateOrInstant = z.string().max(40).refine(isDateOrInstant, { message: 'must be a date YYYY-MM-DD or an ISO 8601 instant' });
const filterText = z.string().min(1).max(200);

const range = {
  from: dateOrInstant
    .optional()
    .describe('first UTC day (YYYY-MM-DD, inclusive) or an instant (hour precision, at most 31 days); default 29 days before `to`'),
  to: dateOrInstant.optional().describe('last UTC day (inclusive) or an instant (exclusive); default today / now'),
};
const filters = {
  service: filterText.optional(),
  model: filterText.optional(),
  userId: z.guid().optional().describe('ignored for developers: they always see their own usage'),
  keyId: z.guid().optional(),
  teamId: z.guid().optional().describe("the key's team at call time (events of keys in no team have none)"),
  status: z.enum(STATUS_CLASSES).optional().describe('status class of the answer the client got (429 apart from 4xx)'),
};

export const overviewQuery = z.object({
  ...range,
  top: z.coerce.number().int().min(1).max(50).default(5).describe('entries in each top list'),
});

export const usageQuery = z.object({
  ...range,
  groupBy: z.enum(GROUP_BY).default('day'),
  ...filters,
  format: z.enum(['json', 'csv']).default('json'),
});

/** /teams/:id/usage: the team is in the path; the other filters as /analytics/usage. */
export const teamUsageQuery = z.object({
  ...range,
  groupBy: z.enum(GROUP_BY).default('day').describe('providerKey: admins and analysts only'),
  service: filters.service,
  model: filters.model,
  userId: z.guid().optional(),
  keyId: filters.keyId,
  status: filters.status,
  format: z.enum(['json', 'csv']).default('json'),
}).strict(); // a teamId here would be a second, conflicting team: refused rather than ignored

export const timeseriesQuery = z.object({
  ...range,
  bucket: z.enum(['hour', 'day']).default('day').describe('hour: at most 31 days; default range the last 24 hours'),
  groupBy: z.enum(SERIES_GROUP_BY).optional().describe('one series per group (top N, the rest as "other"); none: one series'),
  ...filters,
  top: z.coerce.number().int().min(1).max(20).default(5).describe('series kept before the rest fold into "other"'),
});

const totals = z.object({
  requests: z.number().int(),
  errors: z.number().int(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  costMicros: z.number().int(),
  costUsd: z.number().describe('credits; 1 credit = 1 USD'),
  avgLatencyMs: z.number().int().describe('total latency the client saw'),
});
const row = totals.extend({
  group: z.string().nullable().describe('the day, service, model, id or status class; null where the events had none (team: organisation level)'),
  label: z.string().nullable().describe("the user's email, the key's, wallet entry's or team's name; the group otherwise"),
});
const scope = z.enum(['all', 'own']).describe('own: a developer, pinned to their own usage');

export const overviewResponse = z.object({
  scope,
  from: z.string(),
  to: z.string(),
  totals: totals.extend({ errorRate: z.number(), totalTokens: z.number().int() }),
  top: z.object({ services: z.array(row), models: z.array(row), users: z.array(row), keys: z.array(row) }),
});

export const usageResponse = z.object({ from: z.string(), to: z.string(), groupBy: z.enum(GROUP_BY), scope, rows: z.array(row) });

export const teamUsageResponse = z.object({
  teamId: z.string(),
  from: z.string(),
  to: z.string(),
  groupBy: z.enum(GROUP_BY),
  totals,
  rows: z.array(row),
});

export const timeseriesResponse = z.object({
  from: z.string().describe('first instant covered (start of the first bucket)'),
  to: z.string().describe('end of the range, exclusive'),
  bucket: z.enum(['hour', 'day']),
  groupBy: z.enum(SERIES_GROUP_BY).nullable(),
  scope,
  series: z.array(
    z.object({
      group: z.string().nullable().describe("null: no grouping, or events without one; '(other)': the groups past the top N"),
      label: z.string(),
      totals,
      points: z.array(
        totals.extend({
          t: z.string().describe('start of the bucket (UTC instant)'),
          avgAddedLatencyMs: z
            .number()
            .int()
            .optional()
            .describe('time the gateway added to calls that reached an upstream (total − upstream latency); hourly buckets, and daily ones not grouped or filtered by user, key or provider key'),
        }),
      ),
    }),
  ),
});
