/**
 * The token price table (model_prices): USD per million tokens, which is the same number as micro-USD per
 * token, so a call's cost in micro-USD is prompt × input + completion × output.
 */
import type { Db } from '../store/db';

export interface ModelPrice {
  /** an exact model id, or a prefix ending in '*' */
  model: string;
  service: string;
  inputPerMtok: number;
  outputPerMtok: number;
}

interface PriceRow {
  model: string;
  service: string;
  input_per_mtok: number | string;
  output_per_mtok: number | string;
}

export async function loadPrices(db: Db): Promise<ModelPrice[]> {
  const rows = (await db('model_prices').select('model', 'service', 'input_per_mtok', 'output_per_mtok')) as PriceRow[];
  return rows.map((r) => ({
    model: r.model,
    service: r.service,
    inputPerMtok: Number(r.input_per_mtok),
    outputPerMtok: Number(r.output_per_mtok),
  }));
}

/** Rounded to the nearest micro-USD; fractions of a millionth of a dollar are not worth a counter. */
export function costOf(price: Pick<ModelPrice, 'inputPerMtok' | 'outputPerMtok'>, promptTokens: number, completionTokens: number): number {
  return Math.round(promptTokens * price.inputPerMtok + completionTokens * price.outputPerMtok);
}

/** Lookups by model id: an exact row first, then the longest matching `prefix*` row. */
export class PriceTable {
  private readonly exact = new Map<string, ModelPrice>();
  /** longest prefix first, so the first match is the most specific one */
  private readonly prefixes: { prefix: string; price: ModelPrice }[];

  constructor(rows: ModelPrice[]) {
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

  /** Rows naming one model (not a prefix): the models a /v1/models listing can show. */
  exactModels(): ModelPrice[] {
    return [...this.exact.values()];
  }

  /** Prefix rows, most specific first: they also say which service serves an unlisted model name. */
  prefixRows(): ModelPrice[] {
    return this.prefixes.map((p) => p.price);
  }
}
