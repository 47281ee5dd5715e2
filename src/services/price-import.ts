/**
 * A price table import (POST /models/prices/import and `keywallet prices import FILE`), so prices stay current
 * without a release. The file is `{"prices": [...]}` (or a bare array) of rows as PUT /models/prices/:model takes
 * them, each with its `model`. An import is all or nothing — a price table half updated bills some models at old
 * rates and some at new ones — and is one new price version, one audit row and one cache invalidation.
 */
import { z } from 'zod';
import { AuditActor, recordAudit } from '../audit/audit';
import { AppError } from '../http/errors';
import { bumpPriceVersion, ModelCatalogDeps, priceColumns, priceParams, putPriceSchema, announcePrices } from './models';

export const priceImportSchema = z
  .object({
    prices: z
      .array(putPriceSchema.extend({ model: priceParams.shape.model }))
      .min(1)
      .max(5000),
  })
  .strict();

export type PriceImport = z.output<typeof priceImportSchema>;

/** `{"prices": [...]}` or a bare array, from a file's text. */
export function readPriceFile(text: string): unknown {
  const parsed = JSON.parse(text) as unknown;
  return Array.isArray(parsed) ? { prices: parsed } : parsed;
}

export async function importPrices(deps: ModelCatalogDeps, input: PriceImport, actor: AuditActor): Promise<{ version: number; created: number; updated: number }> {
  const seen = new Set<string>();
  input.prices.forEach((p, i) => {
    if (!deps.services.get(p.service)) throw new AppError('invalid_request', `Unknown service ${p.service}`, { param: `prices.${i}.service` });
    if (seen.has(p.model)) throw new AppError('invalid_request', `Model ${p.model} appears twice`, { param: `prices.${i}.model` });
    seen.add(p.model);
  });
  const now = new Date(deps.clock.now());
  const result = await deps.db.transaction(async (trx) => {
    const existing = new Set(((await trx('model_prices').whereIn('model', [...seen]).select('model')) as { model: string }[]).map((r) => r.model));
    for (const p of input.prices) {
      const values = { ...priceColumns(p), updated_at: now };
      if (existing.has(p.model)) await trx('model_prices').where({ model: p.model }).update(values);
      else await trx('model_prices').insert({ model: p.model, ...values, created_at: now });
    }
    const version = await bumpPriceVersion(trx, 'import', input.prices.length);
    const created = input.prices.length - existing.size;
    await recordAudit(
      trx,
      actor,
      { action: 'model_price.import', targetType: 'model_price', targetId: `v${version}`, after: { version, created, updated: existing.size, models: [...seen].slice(0, 200) } },
      now,
    );
    return { version, created, updated: existing.size };
  });
  await announcePrices(deps);
  return result;
}
