/**
 * The price table (model_prices): USD per million tokens, which is the same number as micro-USD per token, with
 * a rate of its own for each part of a call a provider prices apart — cached input reads and cache writes,
 * reasoning, audio in and out — and per-unit fees (per request, per image, per second of audio, per million
 * characters of speech). A missing token rate means the model's plain input or output rate; a missing fee, none.
 * The table has a version, bumped by every change, which each usage event records.
 */
import type { Db } from '../store/db';
import type { TokenUsage } from '../providers/types';

export interface PriceRates {
  inputPerMtok: number;
  outputPerMtok: number;
  cachedInputPerMtok?: number | null;
  cacheWritePerMtok?: number | null;
  reasoningPerMtok?: number | null;
  audioInputPerMtok?: number | null;
  audioOutputPerMtok?: number | null;
  /** USD per request / image / second; USD per million characters */
  perRequest?: number | null;
  perImage?: number | null;
  perSecond?: number | null;
  perMillionChars?: number | null;
  /** USD per server-side web search */
  webSearchPerCall?: number | null;
}

export interface ModelPrice extends PriceRates {
  /** an exact model id, or a prefix ending in '*' */
  model: string;
  service: string;
}

/** Each optional rate: its API name and its column. */
export const OPTIONAL_RATES = [
  ['cachedInputPerMtok', 'cached_input_per_mtok'],
  ['cacheWritePerMtok', 'cache_write_per_mtok'],
  ['reasoningPerMtok', 'reasoning_per_mtok'],
  ['audioInputPerMtok', 'audio_input_per_mtok'],
  ['audioOutputPerMtok', 'audio_output_per_mtok'],
  ['perRequest', 'per_request'],
  ['perImage', 'per_image'],
  ['perSecond', 'per_second'],
  ['perMillionChars', 'per_mchar'],
  ['webSearchPerCall', 'web_search_per_call'],
] as const;

export type OptionalRate = (typeof OPTIONAL_RATES)[number][0];

type PriceRow = { model: string; service: string; input_per_mtok: number | string; output_per_mtok: number | string } & Record<string, unknown>;

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function ratesOfRow(r: PriceRow): ModelPrice {
  const price: ModelPrice = { model: r.model, service: r.service, inputPerMtok: Number(r.input_per_mtok), outputPerMtok: Number(r.output_per_mtok) };
  for (const [name, column] of OPTIONAL_RATES) price[name] = numberOrNull(r[column]);
  return price;
}

export async function loadPrices(db: Db): Promise<{ rows: ModelPrice[]; version: number }> {
  const [rows, version] = await Promise.all([
    db('model_prices').select('*') as Promise<PriceRow[]>,
    db('price_versions').max('id as v').first() as Promise<{ v: number | null } | undefined>,
  ]);
  return { rows: rows.map(ratesOfRow), version: Number(version?.v ?? 0) };
}

const USD = 1_000_000;

/**
 * What a call cost in micro-USD, each part at its own rate. Rounded to the nearest micro-USD; fractions of a
 * millionth of a dollar are not worth a counter.
 */
export function usageCostMicros(p: PriceRates, u: TokenUsage): number {
  const cacheRead = u.cacheReadTokens ?? 0;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  const audioIn = u.audioInputTokens ?? 0;
  const reasoning = u.reasoningTokens ?? 0;
  const audioOut = u.audioOutputTokens ?? 0;
  const plainIn = Math.max(0, u.promptTokens - cacheRead - cacheWrite - audioIn);
  const plainOut = Math.max(0, u.completionTokens - reasoning - audioOut);
  const input = p.inputPerMtok;
  const output = p.outputPerMtok;
  const micros =
    plainIn * input +
    cacheRead * (p.cachedInputPerMtok ?? input) +
    cacheWrite * (p.cacheWritePerMtok ?? input) +
    audioIn * (p.audioInputPerMtok ?? input) +
    plainOut * output +
    reasoning * (p.reasoningPerMtok ?? output) +
    audioOut * (p.audioOutputPerMtok ?? output) +
    (p.perRequest ?? 0) * USD +
    (u.images ?? 0) * (p.perImage ?? 0) * USD +
    (u.seconds ?? 0) * (p.perSecond ?? 0) * USD +
    (u.characters ?? 0) * (p.perMillionChars ?? 0) +
    (u.webSearchRequests ?? 0) * (p.webSearchPerCall ?? 0) * USD;
  return Math.round(micros);
}

/** Plain input and output tokens only (estimates, reservations). */
export function costOf(price: PriceRates, promptTokens: number, completionTokens: number): number {
  return usageCostMicros(price, { promptTokens, completionTokens });
}

/** Lookups by model id: an exact row first, then the longest matching `prefix*` row. */
export class PriceTable {
  private readonly exact = new Map<string, ModelPrice>();
  /** longest prefix first, so the first match is the most specific one */
  private readonly prefixes: { prefix: string; price: ModelPrice }[];

  constructor(
    rows: ModelPrice[],
    /** the price_versions id these rows are (0 when unknown, as in unit tests) */
    readonly version = 0,
  ) {
    const prefixes: { prefix: string; price: ModelPrice }[] = [];
    for (const row of rows) {
      if (row.model.endsWith('*')) prefixes.push({ prefix: row.model.slice(0, -1), price: row });
      else this.exact.set(row.model, row);
    }
    this.prefixes = prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** `model` may carry a service (`openai/gpt-4o`): prices are per model id, whoever serves it. */
  lookup(model: string): ModelPrice | null {
    const bare = model.includes('/') && !this.exact.has(model) ? model.slice(model.indexOf('/') + 1) : model;
    const exact = this.exact.get(model) ?? this.exact.get(bare);
    if (exact) return exact;
    return this.prefixes.find((p) => bare.startsWith(p.prefix))?.price ?? null;
  }

  /** 0 for a model without a price: it is still served and metered in tokens. */
  costMicros(model: string, promptTokens: number, completionTokens: number): number {
    const price = this.lookup(model);
    return price ? costOf(price, promptTokens, completionTokens) : 0;
  }

  /** Every part of the usage at its own rate; 0 for a model without a price. */
  usageCostMicros(model: string, usage: TokenUsage): number {
    const price = this.lookup(model);
    return price ? usageCostMicros(price, usage) : 0;
  }

  /** Rows naming one model (not a prefix): the models a /v1/models listing can show. */
  exactModels(): ModelPrice[] {
    return [...this.exact.values()];
  }

  /** Prefix rows, most specific first: they also say which service serves an unlisted model name. */
  prefixRows(): ModelPrice[] {
    return this.prefixes.map((p) => p.price);
  }
}
