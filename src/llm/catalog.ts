/**
 * The in-memory copy of model aliases and prices that every /v1 request reads, so resolution and pricing
 * cost no database round trip. Reloaded when any node announces a change on 'aliases:changed' (alias and
 * price edits both publish there), and after MAX_STALENESS_MS in case a message was missed.
 */
import type { Clock } from '../clock';
import type { GatewayPrincipal } from '../keys/principal';
import type { Logger } from '../logger';
import { protocolOf } from '../providers/registry';
import type { Db } from '../store/db';
import type { KvStore } from '../store/kv';
import { listModels, resolveModel, type ListedModel, type LlmServiceInfo, type ModelAlias, type ModelSnapshot, type ResolvedModel, type ResolveOptions } from './models';
import { loadPrices, PriceTable } from './pricing';

export const ALIASES_CHANNEL = 'aliases:changed';
const MAX_STALENESS_MS = 30_000;

/** The part of the service registry the catalog reads (services/registry.ts). */
export interface ServiceDirectory {
  list(): readonly { slug: string; kind: string; enabled: boolean; metadata: Record<string, unknown> }[];
}

interface AliasRow {
  alias: string;
  targets: ModelAlias['targets'] | string;
}

interface Tables {
  aliases: Map<string, ModelAlias>;
  prices: PriceTable;
  loadedAt: number;
}

export interface LlmCatalogDeps {
  db: Db;
  kv: KvStore;
  logger: Logger;
  clock: Clock;
  services: ServiceDirectory;
}

export class LlmCatalog {
  private tables: Tables | null = null;
  private loading: Promise<Tables> | null = null;
  private generation = 0;

  private constructor(private readonly deps: LlmCatalogDeps) {}

  static async start(deps: LlmCatalogDeps): Promise<LlmCatalog> {
    const catalog = new LlmCatalog(deps);
    await deps.kv.subscribe(ALIASES_CHANNEL, () => catalog.invalidate());
    return catalog;
  }

  /** Marks the cached tables stale: the next request loads fresh ones (and falls back to these if that fails). */
  invalidate(): void {
    this.generation += 1;
    if (this.tables) this.tables = { ...this.tables, loadedAt: Number.NEGATIVE_INFINITY };
    this.loading = null;
  }

  async snapshot(): Promise<ModelSnapshot> {
    const tables = await this.currentTables();
    return { aliases: tables.aliases, prices: tables.prices, services: this.llmServices() };
  }

  async resolve(principal: GatewayPrincipal, requested: string, opts?: ResolveOptions): Promise<ResolvedModel> {
    return resolveModel(await this.snapshot(), principal, requested, opts);
  }

  async list(principal: GatewayPrincipal): Promise<ListedModel[]> {
    return listModels(await this.snapshot(), principal);
  }

  async prices(): Promise<PriceTable> {
    return (await this.currentTables()).prices;
  }

  /** Micro-USD for a call to `model` (0 when the model has no price). */
  async costMicros(model: string, promptTokens: number, completionTokens: number): Promise<number> {
    return (await this.prices()).costMicros(model, promptTokens, completionTokens);
  }

  /** built once per services list (the registry hands out the same array until it reloads) */
  private llmServicesOf: { list: readonly unknown[]; map: Map<string, LlmServiceInfo> } | null = null;

  private llmServices(): Map<string, LlmServiceInfo> {
    const list = this.deps.services.list();
    if (this.llmServicesOf?.list === list) return this.llmServicesOf.map;
    const out = new Map<string, LlmServiceInfo>();
    this.llmServicesOf = { list, map: out };
    for (const s of list) {
      const protocol = protocolOf(s);
      if (!protocol || !s.enabled) continue;
      const declared = s.metadata?.models;
      const models = Array.isArray(declared) ? declared.filter((m): m is string => typeof m === 'string') : [];
      out.set(s.slug, { slug: s.slug, protocol, models });
    }
    return out;
  }

  private currentTables(): Promise<Tables> {
    const now = this.deps.clock.now();
    if (this.tables && now - this.tables.loadedAt <= MAX_STALENESS_MS) return Promise.resolve(this.tables);
    if (this.loading) return this.loading;
    const generation = this.generation;
    const loading = this.load(now).then(
      (tables) => {
        // A change announced while this load ran may not be in it: keep it for this caller only.
        if (generation === this.generation) this.tables = tables;
        if (this.loading === loading) this.loading = null;
        return tables;
      },
      (err: unknown) => {
        if (this.loading === loading) this.loading = null;
        if (this.tables) {
          this.deps.logger.error({ err }, 'could not reload model aliases and prices; keeping the cached copy');
          return this.tables;
        }
        throw err;
      },
    );
    this.loading = loading;
    return loading;
  }

  private async load(now: number): Promise<Tables> {
    const [aliasRows, priceRows] = await Promise.all([
      this.deps.db('model_aliases').select('alias', 'targets') as Promise<AliasRow[]>,
      loadPrices(this.deps.db),
    ]);
    const aliases = new Map<string, ModelAlias>();
    for (const row of aliasRows) {
      const targets = typeof row.targets === 'string' ? (JSON.parse(row.targets) as ModelAlias['targets']) : row.targets;
      aliases.set(row.alias, { alias: row.alias, targets: Array.isArray(targets) ? targets : [] });
    }
    return { aliases, prices: new PriceTable(priceRows.rows, priceRows.version), loadedAt: now };
  }
}
