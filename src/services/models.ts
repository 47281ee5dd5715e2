import type { Knex } from 'knex';
import { z } from 'zod';
import { AuditActor, recordAudit } from '../audit/audit';
import { AppError, conflict, notFound } from '../http/errors';
import type { KvStore } from '../store/kv';
import type { ServiceRegistry } from './registry';

/** Model aliases (ordered fallback chains across services) and the token price table, managed by admins. */

export const ALIASES_CHANNEL = 'aliases:changed';

/** This node drops its cached aliases and prices at once; the others on the pub/sub message. */
async function announce(deps: ModelCatalogDeps, what: string): Promise<void> {
  deps.llm?.invalidate();
  await deps.kv.publish(ALIASES_CHANNEL, what);
}

export interface AliasTarget {
  service: string;
  model: string;
}

const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;
/** No '/': `service/model` means a direct target, so an alias containing one could never be reached. */
const ALIAS_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
/** Path segments under /models that are routes, not aliases. */
const RESERVED_ALIASES = new Set(['prices']);

export const aliasParams = z.object({
  alias: z
    .string()
    .regex(ALIAS_NAME, 'must be letters, digits, ".", "_", ":" or "-" (no "/")')
    .refine((a) => !RESERVED_ALIASES.has(a), 'is reserved'),
});

export const putAliasSchema = z
  .object({
    targets: z
      .array(z.object({ service: z.string().min(1).max(64), model: z.string().regex(MODEL_ID, 'must be a model id') }).strict())
      .min(1)
      .max(10),
    description: z.string().trim().max(500).nullable().optional(),
  })
  .strict();

/** An exact model id, or a prefix ending in '*' that prices every model starting with it. */
export const priceParams = z.object({
  model: z.string().refine((m) => MODEL_ID.test(m.endsWith('*') ? m.slice(0, -1) : m), 'must be a model id, optionally ending in "*"'),
});

const rate = z.number().min(0).max(100_000).nullable().optional();

export const putPriceSchema = z
  .object({
    service: z.string().min(1).max(64),
    /** USD per million tokens */
    inputPerMTok: z.number().min(0).max(100_000),
    outputPerMTok: z.number().min(0).max(100_000),
    /** USD per million tokens of each part priced apart; absent or null = the plain input/output rate */
    cachedInputPerMTok: rate.describe('prompt-cache reads (OpenAI cached_tokens, Anthropic cache_read_input_tokens)'),
    cacheWritePerMTok: rate.describe('prompt-cache writes (Anthropic cache_creation_input_tokens)'),
    reasoningPerMTok: rate.describe('reasoning tokens (completion_tokens_details.reasoning_tokens)'),
    audioInputPerMTok: rate.describe('audio input tokens'),
    audioOutputPerMTok: rate.describe('audio output tokens'),
    /** USD per unit; absent or null = no such fee */
    perRequest: rate.describe('USD per request'),
    perImage: rate.describe('USD per generated image'),
    perSecond: rate.describe('USD per second of transcribed audio'),
    perMillionChars: rate.describe('USD per million characters of speech input'),
    webSearchPerCall: rate.describe('USD per server-side web search the call made (Anthropic server_tool_use.web_search_requests, OpenAI web_search calls)'),
  })
  .strict();

/** API field ↔ column of each optional rate (their order is OPTIONAL_RATES'). */
const RATE_FIELDS = [
  ['cachedInputPerMTok', 'cached_input_per_mtok'],
  ['cacheWritePerMTok', 'cache_write_per_mtok'],
  ['reasoningPerMTok', 'reasoning_per_mtok'],
  ['audioInputPerMTok', 'audio_input_per_mtok'],
  ['audioOutputPerMTok', 'audio_output_per_mtok'],
  ['perRequest', 'per_request'],
  ['perImage', 'per_image'],
  ['perSecond', 'per_second'],
  ['perMillionChars', 'per_mchar'],
  ['webSearchPerCall', 'web_search_per_call'],
] as const;

interface AliasRow {
  alias: string;
  targets: AliasTarget[] | string;
  description: string | null;
  builtin: boolean;
  created_at: Date;
  updated_at: Date;
}

interface PriceRow {
  model: string;
  service: string;
  input_per_mtok: number | string;
  output_per_mtok: number | string;
  web_search_per_call?: number | string | null;
  created_at: Date;
  updated_at: Date;
  [rateColumn: string]: unknown;
}

export function presentAlias(r: AliasRow) {
  return {
    alias: r.alias,
    targets: (typeof r.targets === 'string' ? JSON.parse(r.targets) : r.targets) as AliasTarget[],
    description: r.description,
    builtin: r.builtin,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function presentPrice(r: PriceRow) {
  const rates: Partial<Record<(typeof RATE_FIELDS)[number][0], number | null>> = {};
  for (const [field, column] of RATE_FIELDS) rates[field] = r[column] === null || r[column] === undefined ? null : Number(r[column]);
  return {
    model: r.model,
    service: r.service,
    inputPerMTok: Number(r.input_per_mtok),
    outputPerMTok: Number(r.output_per_mtok),
    ...rates,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The columns a price input sets; a rate the input leaves out is cleared (a PUT states the whole price). */
export function priceColumns(input: z.output<typeof putPriceSchema>): Record<string, unknown> {
  const values: Record<string, unknown> = { service: input.service, input_per_mtok: input.inputPerMTok, output_per_mtok: input.outputPerMTok };
  for (const [field, column] of RATE_FIELDS) values[column] = input[field] ?? null;
  return values;
}

/** A new version of the price table, in the transaction that changed it: usage events say which one billed them. */
export async function bumpPriceVersion(trx: Knex, source: 'api' | 'import', changed: number): Promise<number> {
  const [row] = (await trx('price_versions').insert({ source, changed }).returning('id')) as { id: number }[];
  return Number(row.id);
}

/** Every node drops its cached prices (an import changes many rows at once). */
export function announcePrices(deps: ModelCatalogDeps): Promise<void> {
  return announce(deps, 'prices');
}

export interface ModelCatalogDeps {
  /** present in the running app: invalidated at once on the node that made the change */
  llm?: { invalidate(): void };
  db: Knex;
  kv: KvStore;
  services: ServiceRegistry;
  clock: { now(): number };
}

function assertKnownService(services: ServiceRegistry, slug: string, param: string): void {
  if (!services.get(slug)) throw new AppError('invalid_request', `Unknown service ${slug}`, { param });
}

export async function listAliases(db: Knex) {
  return ((await db('model_aliases').select('*').orderBy('alias')) as AliasRow[]).map(presentAlias);
}

export async function putAlias(deps: ModelCatalogDeps, alias: string, input: z.output<typeof putAliasSchema>, actor: AuditActor) {
  input.targets.forEach((t, i) => assertKnownService(deps.services, t.service, `targets.${i}.service`));
  const now = new Date(deps.clock.now());
  const result = await deps.db.transaction(async (trx) => {
    const existing = (await trx('model_aliases').where({ alias }).forUpdate().first()) as AliasRow | undefined;
    const values = {
      targets: JSON.stringify(input.targets),
      description: input.description === undefined ? existing?.description ?? null : input.description,
      updated_at: now,
    };
    const [row] = existing
      ? ((await trx('model_aliases').where({ alias }).update(values).returning('*')) as AliasRow[])
      : ((await trx('model_aliases').insert({ alias, ...values, builtin: false, created_at: now }).returning('*')) as AliasRow[]);
    const after = presentAlias(row);
    await recordAudit(
      trx,
      actor,
      { action: 'model_alias.put', targetType: 'model_alias', targetId: alias, before: existing ? presentAlias(existing) : null, after },
      now,
    );
    return { alias: after, created: !existing };
  });
  await announce(deps, alias);
  return result;
}

export async function deleteAlias(deps: ModelCatalogDeps, alias: string, actor: AuditActor): Promise<void> {
  const now = new Date(deps.clock.now());
  await deps.db.transaction(async (trx) => {
    const existing = (await trx('model_aliases').where({ alias }).forUpdate().first()) as AliasRow | undefined;
    if (!existing) throw notFound(`Model alias ${alias}`);
    // The seeds would recreate a deleted built-in at the next boot: re-pointing it is what sticks.
    if (existing.builtin) throw conflict(`Model alias ${alias} is built in; change its targets with PUT instead`);
    await trx('model_aliases').where({ alias }).delete();
    await recordAudit(trx, actor, { action: 'model_alias.delete', targetType: 'model_alias', targetId: alias, before: presentAlias(existing) }, now);
  });
  await announce(deps, alias);
}

export async function listPrices(db: Knex) {
  return ((await db('model_prices').select('*').orderBy('model')) as PriceRow[]).map(presentPrice);
}

export async function putPrice(deps: ModelCatalogDeps, model: string, input: z.output<typeof putPriceSchema>, actor: AuditActor) {
  assertKnownService(deps.services, input.service, 'service');
  const now = new Date(deps.clock.now());
  const result = await deps.db.transaction(async (trx) => {
    const existing = (await trx('model_prices').where({ model }).forUpdate().first()) as PriceRow | undefined;
    const values = { ...priceColumns(input), updated_at: now };
    await bumpPriceVersion(trx, 'api', 1);
    const [row] = existing
      ? ((await trx('model_prices').where({ model }).update(values).returning('*')) as PriceRow[])
      : ((await trx('model_prices').insert({ model, ...values, created_at: now }).returning('*')) as PriceRow[]);
    const after = presentPrice(row);
    await recordAudit(
      trx,
      actor,
      { action: 'model_price.put', targetType: 'model_price', targetId: model, before: existing ? presentPrice(existing) : null, after },
      now,
    );
    return { price: after, created: !existing };
  });
  await announce(deps, `price:${model}`);
  return result;
}

export async function deletePrice(deps: ModelCatalogDeps, model: string, actor: AuditActor): Promise<void> {
  const now = new Date(deps.clock.now());
  await deps.db.transaction(async (trx) => {
    const existing = (await trx('model_prices').where({ model }).forUpdate().first()) as PriceRow | undefined;
    if (!existing) throw notFound(`Price for ${model}`);
    await trx('model_prices').where({ model }).delete();
    await bumpPriceVersion(trx, 'api', 1);
    await recordAudit(trx, actor, { action: 'model_price.delete', targetType: 'model_price', targetId: model, before: presentPrice(existing) }, now);
  });
  await announce(deps, `price:${model}`);
}
