/**
 * Which headers cross the gateway. Going up: never the client's own credentials (the gateway key) or
 * anything describing the client's connection; the provider credential is added by `injectCredential`.
 * Coming back: never hop-by-hop headers, cookies, or anything that could carry a credential.
 */

import { containsSecret, needlesFor } from './secret-scrubber';

export type HeaderValue = string | string[] | undefined;
export type HeaderBag = Record<string, HeaderValue>;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
const CLIENT_CREDENTIALS = new Set(['authorization', 'x-api-key', 'api-key', 'cookie', 'proxy-authorization']);
/**
 * The client's network identity and the gateway's own hints stay inside the gateway. `origin` would make
 * some APIs treat the call as a browser call; `accept-encoding` is dropped so answers come back unencoded
 * and the secret scrubber can read them.
 */
const CLIENT_CONTEXT = new Set([
  'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip',
  'x-service-hint', 'content-length', 'expect', 'origin', 'accept-encoding',
]);
const RESPONSE_CREDENTIALS = new Set([
  'set-cookie', 'set-cookie2', 'authorization', 'x-api-key', 'api-key', 'www-authenticate', 'cookie',
]);

export interface AuthSpec {
  type: 'bearer' | 'header' | 'query' | 'basic';
  name?: string | null;
}

function connectionTokens(headers: HeaderBag): Set<string> {
  // "Connection: x-foo" makes x-foo hop-by-hop too (RFC 9110 §7.6.1).
  const value = headers.connection;
  const list = Array.isArray(value) ? value.join(',') : value ?? '';
  return new Set(list.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

function isHopByHop(name: string, connection: Set<string>): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || connection.has(name);
}

/** The client's headers as they may go to the upstream (before the provider credential is injected). */
export function upstreamRequestHeaders(client: HeaderBag, auth: AuthSpec): Record<string, string | string[]> {
  const connection = connectionTokens(client);
  const injectedName = auth.type === 'header' ? credentialHeaderName(auth) : null;
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of Object.entries(client)) {
    const name = rawName.toLowerCase();
    if (value === undefined) continue;
    if (isHopByHop(name, connection) || CLIENT_CREDENTIALS.has(name) || CLIENT_CONTEXT.has(name)) continue;
    if (name === injectedName) continue; // a client may not choose the credential header's value either
    if (name.startsWith('x-keywallet-')) continue;
    out[name] = value;
  }
  return out;
}

/**
 * The upstream's headers as they may go back to the client. A header that echoes `secret` in any of its forms
 * (raw, URL-encoded, inside base64 as in a reflected `Basic` credential) is dropped whole: a half-redacted
 * `location` or `link` would mislead more than its absence.
 */
export function clientResponseHeaders(upstream: HeaderBag, auth: AuthSpec, secret: string): Record<string, string | string[]> {
  const needles = needlesFor(secret);
  const connection = connectionTokens(upstream);
  const injectedName = auth.type === 'header' ? credentialHeaderName(auth) : null;
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of Object.entries(upstream)) {
    const name = rawName.toLowerCase();
    if (value === undefined) continue;
    if (isHopByHop(name, connection) || RESPONSE_CREDENTIALS.has(name) || name === injectedName) continue;
    // The gateway sets its own length (bodies are streamed and scrubbed) and its own request id.
    if (name === 'content-length' || name === 'x-request-id' || name.startsWith('x-keywallet-')) continue;
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => containsSecret(v, needles))) continue;
    out[name] = value;
  }
  return out;
}

export function credentialHeaderName(auth: AuthSpec): string {
  return (auth.name ?? 'x-api-key').toLowerCase();
}

/** Puts the provider secret where the service expects it: a header, or a query parameter of `url`. */
export function injectCredential(headers: Record<string, string | string[]>, url: URL, auth: AuthSpec, secret: string): void {
  switch (auth.type) {
    case 'bearer':
      headers.authorization = `Bearer ${secret}`;
      return;
    case 'basic':
      // Stripe-style: the secret is the user name, the password is empty.
      headers.authorization = `Basic ${Buffer.from(`${secret}:`).toString('base64')}`;
      return;
    case 'header':
      headers[credentialHeaderName(auth)] = secret;
      return;
    case 'query':
      url.searchParams.set(auth.name ?? 'key', secret);
      return;
  }
}

/** Query parameters a client may not set itself: the one that carries the provider credential. */
export function stripCredentialQuery(url: URL, auth: AuthSpec): void {
  if (auth.type === 'query') url.searchParams.delete(auth.name ?? 'key');
}
