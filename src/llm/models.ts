/**
 * Model resolution: what the client wrote in `model` → an ordered chain of {service, model} targets the
 * key may use. Pure functions over a snapshot of aliases, LLM services and prices (see ./catalog.ts).
 */
import { AppError } from '../http/errors';
import type { GatewayPrincipal } from '../keys/principal';
import { assertServiceAllowed, principalModelAllowed } from '../keys/restrictions';
import type { LlmProtocol } from '../providers/types';
import type { PriceTable } from './pricing';

export interface AliasTarget {
  service: string;
  model: string;
}

export interface ModelAlias {
  alias: string;
  targets: AliasTarget[];
}

/** An enabled LLM service as resolution sees it. */
export interface LlmServiceInfo {
  slug: string;
  protocol: LlmProtocol;
  /** models the service declares in metadata.models (a local vLLM's, say) */
  models: string[];
}

export interface ModelTarget extends AliasTarget {
  protocol: LlmProtocol;
}

export interface ResolvedModel {
  /** what the client wrote */
  requested: string;
  alias: string | null;
  /** fallback order: the first target serves unless every key of its service fails */
  targets: ModelTarget[];
}

export interface ModelSnapshot {
  aliases: ReadonlyMap<string, ModelAlias>;
  /** enabled LLM services only */
  services: ReadonlyMap<string, LlmServiceInfo>;
  prices: PriceTable;
}

/** Bare model names nobody configured: the providers' own naming. */
const BUILTIN_PREFIXES: [RegExp, string][] = [
  [/^claude-/, 'anthropic'],
  [/^(gpt-|chatgpt-|text-embedding-|omni-moderation-|text-moderation-|dall-e-|whisper-|tts-|davinci-|babbage-|o[134](-|$))/, 'openai'],
];

const PROTOCOL_NAMES: Record<LlmProtocol, string> = { openai: "OpenAI's", anthropic: "Anthropic's" };

function modelNotFound(requested: string): AppError {
  return new AppError('model_not_found', `The model '${requested}' does not exist or is not available through this gateway`, {
    param: 'model',
  });
}

/** Which service serves a bare model name: the price table, a service's own list, then the providers' prefixes. */
function serviceForBareModel(snap: ModelSnapshot, model: string): string | null {
  const usable = (slug: string | undefined) => (slug && snap.services.has(slug) ? slug : null);
  const priced = snap.prices.exactModels().find((p) => p.model === model);
  const byPrice = usable(priced?.service);
  if (byPrice) return byPrice;
  for (const service of snap.services.values()) if (service.models.includes(model)) return service.slug;
  for (const row of snap.prices.prefixRows()) {
    const byPrefix = model.startsWith(row.model.slice(0, -1)) ? usable(row.service) : null;
    if (byPrefix) return byPrefix;
  }
  for (const [pattern, slug] of BUILTIN_PREFIXES) if (pattern.test(model) && usable(slug)) return slug;
  return null;
}

/** Where a name points, before the key's restrictions: an alias, `service/model`, or a bare model name. */
export function locateModel(snap: ModelSnapshot, requested: string): { alias: string | null; targets: AliasTarget[] } {
  const alias = snap.aliases.get(requested);
  if (alias) return { alias: alias.alias, targets: alias.targets };
  const slash = requested.indexOf('/');
  if (slash > 0 && snap.services.has(requested.slice(0, slash)) && slash < requested.length - 1) {
    return { alias: null, targets: [{ service: requested.slice(0, slash), model: requested.slice(slash + 1) }] };
  }
  const service = serviceForBareModel(snap, requested);
  if (service) return { alias: null, targets: [{ service, model: requested }] };
  throw modelNotFound(requested);
}

export interface ResolveOptions {
  /** the protocols the surface can use (/v1/messages: anthropic only; embeddings: openai only) */
  protocols?: readonly LlmProtocol[];
  /** what to call the surface in the error when no target speaks one of `protocols` */
  surfaceName?: string;
}

export function resolveModel(snap: ModelSnapshot, principal: GatewayPrincipal, requested: string, opts: ResolveOptions = {}): ResolvedModel {
  const located = locateModel(snap, requested);
  let targets: ModelTarget[] = [];
  for (const t of located.targets) {
    const service = snap.services.get(t.service);
    // An alias may point at a service that was disabled since: that link of the chain is skipped.
    if (service) targets.push({ service: t.service, model: t.model, protocol: service.protocol });
  }
  if (targets.length === 0) throw modelNotFound(requested);

  if (opts.protocols) {
    const speaking = targets.filter((t) => opts.protocols!.includes(t.protocol));
    if (speaking.length === 0) {
      const spoken = [...new Set(targets.map((t) => `${t.service} (${PROTOCOL_NAMES[t.protocol]} protocol)`))].join(', ');
      throw new AppError(
        'invalid_request',
        `The model '${requested}' is served by ${spoken}, which ${opts.surfaceName ?? 'this endpoint'} cannot use; ` +
          `choose a model served with ${opts.protocols.map((p) => PROTOCOL_NAMES[p]).join(' or ')} protocol`,
        { param: 'model' },
      );
    }
    targets = speaking;
  }

  // The admin who defined an alias decided what it may reach: allowing the alias allows its targets.
  // The key's team ceiling applies the same way, on top of the key's own list.
  const aliasAllowed = located.alias !== null && principalModelAllowed(principal, located.alias);
  targets = targets.filter((t) => aliasAllowed || principalModelAllowed(principal, `${t.service}/${t.model}`));
  if (targets.length === 0) throw new AppError('forbidden', `This API key may not use the model '${requested}'`, { param: 'model' });

  let refusal: unknown = null;
  targets = targets.filter((t) => {
    try {
      assertServiceAllowed(principal, t.service);
      return true;
    } catch (err) {
      refusal ??= err;
      return false;
    }
  });
  if (targets.length === 0) throw refusal;
  return { requested, alias: located.alias, targets };
}

export interface ListedModel {
  id: string;
  ownedBy: string;
}

/** What this key may use: aliases first, then every model the price table or a service names, each once. */
export function listModels(snap: ModelSnapshot, principal: GatewayPrincipal): ListedModel[] {
  const listed = new Map<string, ListedModel>();
  const add = (id: string) => {
    if (listed.has(id)) return;
    try {
      const resolved = resolveModel(snap, principal, id);
      listed.set(id, { id, ownedBy: resolved.targets[0].service });
    } catch {
      // not usable by this key: not listed
    }
  };
  [...snap.aliases.keys()].sort().forEach(add);
  const models = new Set<string>(snap.prices.exactModels().map((p) => p.model));
  for (const service of snap.services.values()) service.models.forEach((m) => models.add(m));
  [...models].sort().forEach(add);
  return [...listed.values()];
}
