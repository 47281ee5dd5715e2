import type { Knex } from 'knex';
import { AuditActor, recordAudit } from '../audit/audit';
import { AppError, badRequest, conflict, notFound } from '../http/errors';
import { assertPublicHost, EndpointRejected, HostLookup } from '../proxy/endpoint-guard';
import { isUniqueViolation } from '../store/db';
import {
  CreateServiceInput,
  MICROS_PER_CREDIT,
  presentService,
  rowToService,
  Service,
  ServiceRow,
  UpdateServiceInput,
} from './service';

/**
 * Create / change / delete services, each with its audit row in the same transaction. The registry wraps
 * these to refresh its cache and tell the other nodes; the CLI and the HTTP routes both go through it.
 */

export interface ServiceAdminOptions {
  now: Date;
  /** DNS lookup for the private-address check (tests inject one) */
  lookup?: HostLookup;
}

/** A base URL on a private, loopback or link-local address needs an admin's explicit `allowPrivate: true`. */
async function assertReachableSafely(baseUrl: string, allowPrivate: boolean, lookup?: HostLookup): Promise<void> {
  if (allowPrivate) return;
  try {
    await assertPublicHost(baseUrl, lookup);
  } catch (err) {
    if (!(err instanceof EndpointRejected)) throw err;
    throw badRequest(`baseUrl refused: ${err.reason}; set allowPrivate: true to allow a private address explicitly`, {
      param: 'baseUrl',
    });
  }
}

export async function createService(db: Knex, input: CreateServiceInput, actor: AuditActor, opts: ServiceAdminOptions): Promise<Service> {
  await assertReachableSafely(input.baseUrl, input.allowPrivate, opts.lookup);
  try {
    return await db.transaction(async (trx) => {
      const [row] = (await trx('services')
        .insert({
          slug: input.slug,
          name: input.name ?? input.slug,
          kind: input.kind,
          base_url: input.baseUrl,
          auth: JSON.stringify(input.auth),
          key_pattern: input.keyPattern ?? null,
          cost_per_call_micros: Math.round(input.costPerCall * MICROS_PER_CREDIT),
          timeout_ms: input.timeoutMs ?? null,
          allow_private: input.allowPrivate,
          credential_check: input.credentialCheck ? JSON.stringify(input.credentialCheck) : null,
          builtin: false,
          enabled: input.enabled,
          metadata: JSON.stringify(input.metadata),
          created_at: opts.now,
          updated_at: opts.now,
        })
        .returning('*')) as ServiceRow[];
      const service = rowToService(row);
      await recordAudit(trx, actor, { action: 'service.create', targetType: 'service', targetId: service.slug, after: presentService(service) }, opts.now);
      return service;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`Service ${input.slug} already exists`);
    throw err;
  }
}

export async function updateService(
  db: Knex,
  slug: string,
  patch: UpdateServiceInput,
  actor: AuditActor,
  opts: ServiceAdminOptions,
): Promise<Service> {
  const current = await db('services').where({ slug }).first();
  if (!current) throw notFound(`Service ${slug}`);
  const before = rowToService(current as ServiceRow);
  // The rule holds for built-ins too: pointing openai at 127.0.0.1 needs the same explicit consent.
  const baseUrl = patch.baseUrl ?? before.baseUrl;
  const allowPrivate = patch.allowPrivate ?? before.allowPrivate;
  if (patch.baseUrl !== undefined || patch.allowPrivate === false) await assertReachableSafely(baseUrl, allowPrivate, opts.lookup);

  const changes: Record<string, unknown> = { updated_at: opts.now };
  if (patch.name !== undefined) changes.name = patch.name;
  if (patch.kind !== undefined) changes.kind = patch.kind;
  if (patch.baseUrl !== undefined) changes.base_url = patch.baseUrl;
  if (patch.auth !== undefined) changes.auth = JSON.stringify(patch.auth);
  if (patch.keyPattern !== undefined) changes.key_pattern = patch.keyPattern;
  if (patch.costPerCall !== undefined) changes.cost_per_call_micros = Math.round(patch.costPerCall * MICROS_PER_CREDIT);
  if (patch.timeoutMs !== undefined) changes.timeout_ms = patch.timeoutMs;
  if (patch.allowPrivate !== undefined) changes.allow_private = patch.allowPrivate;
  if (patch.credentialCheck !== undefined) changes.credential_check = patch.credentialCheck ? JSON.stringify(patch.credentialCheck) : null;
  if (patch.enabled !== undefined) changes.enabled = patch.enabled;
  if (patch.metadata !== undefined) changes.metadata = JSON.stringify(patch.metadata);

  return db.transaction(async (trx) => {
    const [row] = (await trx('services').where({ slug }).update(changes).returning('*')) as ServiceRow[];
    if (!row) throw notFound(`Service ${slug}`);
    const after = rowToService(row);
    await recordAudit(
      trx,
      actor,
      { action: 'service.update', targetType: 'service', targetId: slug, before: presentService(before), after: presentService(after) },
      opts.now,
    );
    return after;
  });
}

/** Aliases whose fallback chain names the service. */
async function aliasesUsing(db: Knex, slug: string): Promise<string[]> {
  const rows = (await db('model_aliases').select('alias', 'targets')) as { alias: string; targets: unknown }[];
  return rows
    .filter((r) => {
      const targets = (typeof r.targets === 'string' ? JSON.parse(r.targets) : r.targets) as { service: string }[];
      return targets.some((t) => t.service === slug);
    })
    .map((r) => r.alias)
    .sort();
}

const isForeignKeyViolation = (err: unknown) => (err as { code?: string } | null)?.code === '23503';

export async function deleteService(db: Knex, slug: string, actor: AuditActor, opts: ServiceAdminOptions): Promise<void> {
  await db.transaction(async (trx) => {
    const current = await trx('services').where({ slug }).forUpdate().first();
    if (!current) throw notFound(`Service ${slug}`);
    const service = rowToService(current as ServiceRow);
    // The seeds would bring a deleted built-in back at the next boot; disabling is what sticks.
    if (service.builtin) throw conflict(`Service ${slug} is built in; disable it with {"enabled": false} instead`);
    const [{ count }] = await trx('wallet_entries').where({ service: slug }).count<{ count: number }[]>({ count: '*' });
    if (Number(count) > 0) {
      throw conflict(`Service ${slug} still has ${count} wallet entr${Number(count) === 1 ? 'y' : 'ies'}; delete them first`, {
        details: { walletEntries: Number(count) },
      });
    }
    const aliases = await aliasesUsing(trx, slug);
    if (aliases.length) {
      throw conflict(`Service ${slug} is a target of model aliases ${aliases.join(', ')}; change them first`, { details: { aliases } });
    }
    await recordAudit(trx, actor, { action: 'service.delete', targetType: 'service', targetId: slug, before: presentService(service) }, opts.now);
    await trx('services').where({ slug }).delete();
  }).catch((err) => {
    // a wallet entry added between the count and the delete
    if (isForeignKeyViolation(err)) throw conflict(`Service ${slug} still has wallet entries; delete them first`);
    throw err;
  });
}

export function assertServiceUsable(service: Service | undefined, slug: string): Service {
  if (!service) throw new AppError('invalid_request', `Unknown service ${slug}`, { param: 'service' });
  if (!service.enabled) throw new AppError('invalid_request', `Service ${slug} is disabled`, { param: 'service' });
  return service;
}
