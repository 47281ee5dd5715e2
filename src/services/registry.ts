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

  list(): Service[] {
    this.refreshIfStale();
    return [...this.services.values()].sort((a, b) => a.slug.localeCompare(b.slug));
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
