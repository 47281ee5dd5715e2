import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import ipaddr from 'ipaddr.js';
import { Agent, type Dispatcher } from 'undici';
import type { AttemptOutcome } from '../routing/router-types';
import type { Service } from '../services/service';
import { isPrivateAddress } from './endpoint-guard';
import { clientResponseHeaders, HeaderBag, injectCredential, stripCredentialQuery, upstreamRequestHeaders } from './headers';
import { COOLDOWN_MS, parseRetryAfter } from '../routing/upstream-signals';
import type { AttemptSignal } from '../routing/attempt-signal';

/**
 * One upstream HTTP call for the generic proxy: credential injected the service's way, bodies streamed both
 * ways, the answer classified for the router (ok / retry / invalid). Connections are pooled per origin with
 * keep-alive by two shared agents: one that refuses private addresses at connect time (DNS rebinding), and
 * one for the services an admin explicitly allowed to reach private networks.
 */

export class PrivateAddressRefused extends Error {
  readonly code = 'EPRIVATEADDR';
  constructor() {
    super('upstream host resolves to a private or reserved address');
    this.name = 'PrivateAddressRefused';
  }
}

/** net.connect's lookup hook: resolves as usual, then refuses if any address is private. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as dns.LookupAddress[];
    if (list.length === 0 || list.some((a) => isPrivateAddress(a.address))) {
      return callback(new PrivateAddressRefused() as NodeJS.ErrnoException, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
    callback(null, list[0].address, list[0].family);
  });
};

const AGENT_OPTIONS = { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 256 };

/** The pooled upstream connections of one gateway (keep-alive, one pool per origin inside each agent). */
export class UpstreamAgents {
  private readonly publicOnly = new Agent({ ...AGENT_OPTIONS, connect: { lookup: publicOnlyLookup } });
  private readonly anyAddress = new Agent(AGENT_OPTIONS);

  for(service: Pick<Service, 'allowPrivate'>): Dispatcher {
    return service.allowPrivate ? this.anyAddress : this.publicOnly;
  }

  async close(): Promise<void> {
    await Promise.all([this.publicOnly.close(), this.anyAddress.close()]);
  }
}

export interface ForwardRequest {
  service: Pick<Service, 'slug' | 'auth' | 'allowPrivate'>;
  secret: string;
  /** already validated to lie under the service's base URL */
  url: URL;
  method: string;
  headers: HeaderBag;
  body: Buffer | string | Readable | null;
  signal: AttemptSignal | AbortSignal;
}

export interface UpstreamAnswer {
  status: number;
  /** already filtered for the client */
  headers: Record<string, string | string[]>;
  /** the raw upstream body; the caller scrubs and streams it */
  body: Readable;
  /** the upstream's own headers, unfiltered, for steering (rate-limit headers) */
  upstreamHeaders: HeaderBag;
}

const RETRY_STATUSES: Record<number, 'server_error' | 'overloaded'> = {
  500: 'server_error', 502: 'server_error', 503: 'server_error', 504: 'server_error', 529: 'overloaded',
};
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED',
]);
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code;
}

/** An error's system code for a log line (ECONNRESET, UND_ERR_SOCKET…): only code-shaped strings, never a message. */
export function causeOf(err: unknown): string | undefined {
  const code = errorCode(err);
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,39}$/.test(code) ? code : undefined;
}

/** Refuses a literal private IP up front: net.connect does not call the lookup hook for IP literals. */
function assertReachable(req: ForwardRequest): void {
  if (req.service.allowPrivate) return;
  const host = req.url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (ipaddr.isValid(host) && isPrivateAddress(host)) throw new PrivateAddressRefused();
}

/**
 * Sends the request and classifies the answer: 429 → retry (rate_limited, with Retry-After), 500/502/503/504/529
 * → retry, timeout and connection errors → retry, anything else → ok (passed on as is); a 401/403 is ok too, marked
 * `credentialSuspect` (the router may then run the service's credential check; an LLM caller decides for itself).
 * A private upstream address (when not allowed) throws PrivateAddressRefused: no other entry would fare better.
 */
export async function forward(agents: UpstreamAgents, req: ForwardRequest, nowMs: number): Promise<AttemptOutcome<UpstreamAnswer>> {
  assertReachable(req);
  // The URL is copied only when the credential goes into its query; otherwise it is read, never changed.
  const url = req.service.auth.type === 'query' ? new URL(req.url.href) : req.url;
  stripCredentialQuery(url, req.service.auth);
  const headers = upstreamRequestHeaders(req.headers, req.service.auth);
  injectCredential(headers, url, req.service.auth, req.secret);

  let res: Dispatcher.ResponseData;
  try {
    // The dispatcher's own request() with origin and path: undici's top-level request(url) re-parses the URL.
    res = await agents.for(req.service).request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: req.body ?? undefined,
      signal: req.signal,
    });
  } catch (err) {
    if (err instanceof PrivateAddressRefused || errorCode(err) === 'EPRIVATEADDR') throw new PrivateAddressRefused();
    const code = errorCode(err) ?? '';
    if (req.signal.aborted || TIMEOUT_ERRORS.has(code)) return { kind: 'retry', reason: 'timeout', cause: causeOf(err) };
    if (CONNECTION_ERRORS.has(code)) return { kind: 'retry', reason: 'connection_error', cause: causeOf(err) };
    throw err;
  }

  const status = res.statusCode;
  const upstreamHeaders = res.headers as HeaderBag;
  if (status === 429 || RETRY_STATUSES[status]) {
    res.body.dump().catch(() => {});
    if (status === 429) {
      return { kind: 'retry', reason: 'rate_limited', status, retryAfterMs: parseRetryAfter(upstreamHeaders, nowMs) ?? COOLDOWN_MS.rate_limited, headers: upstreamHeaders };
    }
    return { kind: 'retry', reason: RETRY_STATUSES[status], status, retryAfterMs: parseRetryAfter(upstreamHeaders, nowMs), headers: upstreamHeaders };
  }
  const answer: UpstreamAnswer = {
    status,
    headers: clientResponseHeaders(upstreamHeaders, req.service.auth, req.secret),
    body: res.body,
    upstreamHeaders,
  };
  // A 401/403 is the answer: it is usually about the resource asked for, which the caller may have chosen.
  if (status === 401 || status === 403) return { kind: 'ok', value: answer, status, headers: upstreamHeaders, credentialSuspect: true };
  return { kind: 'ok', value: answer, status, headers: upstreamHeaders };
}
