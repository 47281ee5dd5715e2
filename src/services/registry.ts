import type { Knex } from 'knex';
import type { AuditActor } from '../audit/audit';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { HostLookup } from '../proxy/endpoint-guard';
import type { KvStore } from '../store/kv';
import { AppError } from '../http/errors';
import { detectService, DetectResult } from '../wallet/detect';
import { createService, deleteService, updateService } from './admin';
import { CreateServiceInput, rowToService, Service, ServiceRow, UpdateServiceInput } from './service';

export const SERVICES_CHANNEL = 'services:changed';
/** Pub/sub is the fast path; this bounds how stale a node can get if it missed a message. */
const MAX_STALENESS_MS = 30_000;
/** how long a service name that a reload did not find stays a plain miss */
const MISS_HOLD_MS = 1000;

export interface ServiceRegistryDeps {
  db: Knex;
  kv: KvStore;
  logger: Logger;
  clock: Clock;
}

/**
 * Every service row, in memory: the request path asks `get(slug)` without a database round trip. A change on
 * any node is published on 'services:changed'; each node reloads the (small) table when it hears it.
 */
export class ServiceRegistry {
  private services = new Map<string, Service>();
  private loadedAt = 0;
  private loadSeq = 0;
  private refreshing: Promise<void> | null = null;
  private reloadAgain = false;
  private closed = false;
  /** the sorted list of the current map, built once per load (callers only read it) */
  private sorted: Service[] | null = null;
  /** after a miss that a reload did not cure, further misses wait this long before reloading again */
  private missHeldUntil = 0;
  /** the reload a miss started: concurrent misses wait for the same one instead of each reading the table */
  private missReload: Promise<void> | null = null;

  private constructor(private readonly deps: ServiceRegistryDeps, private readonly lookup?: HostLookup) {}

  /** Loads the table and subscribes to changes; `lookup` replaces DNS for the private-address check (tests). */
  static async start(deps: ServiceRegistryDeps & { closers?: (() => Promise<void>)[] }, lookup?: HostLookup): Promise<ServiceRegistry> {
    const registry = new ServiceRegistry(deps, lookup);
    await registry.reload();
    await deps.kv.subscribe(SERVICES_CHANNEL, () => registry.refreshInBackground());
    deps.closers?.push(async () => {
      registry.closed = true;
    });
    return registry;
  }

  get(slug: string): Service | undefined {
    this.refreshIfStale();
    return this.services.get(slug);
  }

  /**
   * The service, reloading the table once when it is not known yet: a service created on another node is usable
   * here before its pub/sub message arrives (or if it was lost). A miss that a reload did not cure holds further
   * reloads back for a second, so a client naming made-up services cannot turn every request into a table read.
   */
  async getOrReload(slug: string): Promise<Service | undefined> {
    const known = this.get(slug);
    if (known || this.closed || this.deps.clock.now() < this.missHeldUntil) return known;
    this.missReload ??= this.reload()
      .catch((err) => this.deps.logger.warn({ err }, 'could not reload the service registry for an unknown service'))
      .finally(() => (this.missReload = null));
    await this.missReload;
    const found = this.services.get(slug);
    if (!found) this.missHeldUntil = this.deps.clock.now() + MISS_HOLD_MS;
    return found;
  }

  /** Every service by slug; the same array until the table is reloaded: do not change it. */
  list(): readonly Service[] {
    this.refreshIfStale();
    this.sorted ??= [...this.services.values()].sort((a, b) => a.slug.localeCompare(b.slug));
    return this.sorted;
  }

  /** Which service a secret belongs to, by every service's key pattern (disabled ones included, so the error can say so). */
  detect(secret: string): DetectResult {
    return detectService(secret, this.list());
  }

  /** The detected service's slug; otherwise a 400 that says why, listing the candidates of an ambiguous format. */
  detectOrThrow(secret: string): string {
    const result = this.detect(secret);
    if (result.ok) return result.service;
    const ambiguous = result.reason === 'ambiguous';
    const message = ambiguous
      ? `The key format matches several services (${result.candidates.join(', ')}); pass "service" to choose one`
      : 'The service could not be detected from the key format; pass "service"';
    throw new AppError('invalid_request', message, { param: 'service', details: { reason: result.reason, candidates: result.candidates } });
  }

  async reload(): Promise<void> {
    const seq = ++this.loadSeq;
    const rows = (await this.deps.db('services').select('*')) as ServiceRow[];
    // A slower, older load must not overwrite a newer one.
    if (seq !== this.loadSeq) return;
    this.services = new Map(rows.map((r) => [r.slug, rowToService(r)]));
    this.sorted = null;
    this.loadedAt = this.deps.clock.now();
  }

  async create(input: CreateServiceInput, actor: AuditActor): Promise<Service> {
    const service = await createService(this.deps.db, input, actor, this.adminOptions());
    await this.changed(service.slug);
    return service;
  }

  async update(slug: string, patch: UpdateServiceInput, actor: AuditActor): Promise<Service> {
    const service = await updateService(this.deps.db, slug, patch, actor, this.adminOptions());
    await this.changed(slug);
    return service;
  }

  async delete(slug: string, actor: AuditActor): Promise<void> {
    await deleteService(this.deps.db, slug, actor, this.adminOptions());
    await this.changed(slug);
  }

  private adminOptions() {
    return { now: new Date(this.deps.clock.now()), lookup: this.lookup };
  }

  /** This node sees its own change before the response; the others hear it over pub/sub. */
  private async changed(slug: string): Promise<void> {
    await this.reload();
    await this.deps.kv.publish(SERVICES_CHANNEL, slug);
  }

  private refreshIfStale(): void {
    if (this.deps.clock.now() - this.loadedAt > MAX_STALENESS_MS) this.refreshInBackground();
  }

  private refreshInBackground(): void {
    if (this.closed) return;
    // A change announced while a load is running may have committed after that load read the table.
    if (this.refreshing) {
      this.reloadAgain = true;
      return;
    }
    this.refreshing = this.reload()
      .catch((err) => this.deps.logger.error({ err }, 'could not reload the service registry; keeping the cached copy'))
      .finally(() => {
        this.refreshing = null;
        if (this.reloadAgain) {
          this.reloadAgain = false;
          this.refreshInBackground();
        }
      });
  }
}
