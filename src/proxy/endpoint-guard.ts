import { promises as dns } from 'node:dns';
import ipaddr from 'ipaddr.js';

/** The requested upstream target is unsafe. `reason` says why without echoing the input. */
export class EndpointRejected extends Error {
  readonly code = 'endpoint_rejected';
  constructor(readonly reason: string) {
    super(`endpoint rejected: ${reason}`);
    this.name = 'EndpointRejected';
  }
}

const MAX_ENDPOINT_LENGTH = 2048;
const MAX_DECODE_ROUNDS = 4;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const CONTROL = /[\x00-\x1f\x7f]/;
const RAW_FORBIDDEN: Array<[RegExp, string]> = [
  [/[\x00-\x1f\x7f-\x9f]/, 'control character'],
  [/\s/, 'whitespace'],
  [/@/, '"@" is not allowed'],
  [/[?#]/, 'query or fragment inside endpoint; use the query field'],
  [/%(?![0-9A-Fa-f]{2})/, 'malformed percent-encoding'],
];

/** Byte-wise, tolerant of stray '%': used only to look for what a lenient upstream might decode. */
function percentDecodeBytes(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The endpoint as written plus every percent-decoded form of it (catches %2e%2e, %252e, %5c, %00…). */
function decodedLayers(raw: string): string[] {
  try {
    decodeURIComponent(raw); // invalid UTF-8 such as overlong %c0%ae has no business in a path
  } catch {
    throw new EndpointRejected('malformed percent-encoding');
  }
  const layers = [raw];
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const next = percentDecodeBytes(layers[layers.length - 1]);
    if (next === layers[layers.length - 1]) return layers;
    layers.push(next);
  }
  throw new EndpointRejected('too deeply percent-encoded');
}

function checkLayer(layer: string): void {
  if (CONTROL.test(layer)) throw new EndpointRejected('control character');
  if (layer.includes('\\')) throw new EndpointRejected('backslash');
  if (SCHEME.test(layer)) throw new EndpointRejected('absolute URL');
  if (layer.startsWith('//')) throw new EndpointRejected('protocol-relative URL');
  for (const segment of layer.split('/')) {
    // Servlet containers treat ';' as a parameter separator, so "..;" is ".." to them.
    const name = segment.split(';')[0];
    if (name === '.' || name === '..') throw new EndpointRejected('dot path segment');
  }
}

/** A safe path to put under a service's base URL, starting with '/'; throws EndpointRejected. */
export function validateEndpoint(endpoint: string): string {
  if (typeof endpoint !== 'string') throw new EndpointRejected('endpoint must be a string');
  if (endpoint === '') throw new EndpointRejected('empty endpoint');
  if (endpoint.length > MAX_ENDPOINT_LENGTH) throw new EndpointRejected('endpoint too long');
  for (const [pattern, reason] of RAW_FORBIDDEN) {
    if (pattern.test(endpoint)) throw new EndpointRejected(reason);
  }
  for (const layer of decodedLayers(endpoint)) checkLayer(layer);
  const rooted = endpoint.startsWith('/') ? endpoint : `/${endpoint}`;
  return rooted.replace(/\/{2,}/g, '/');
}

export type QueryValue = string | number | boolean;
export type QueryParams = Record<string, QueryValue | QueryValue[]>;

function parseHttpUrl(baseUrl: string): URL {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new EndpointRejected('invalid base URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new EndpointRejected('base URL must be http or https');
  }
  return base;
}

/** The base URL with the endpoint under its path; the result provably stays on the base's origin and path. */
export function buildUpstreamUrl(baseUrl: string, endpoint: string, query?: QueryParams): URL {
  const base = parseHttpUrl(baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const url = new URL(base.href);
  url.hash = '';
  url.pathname = basePath + validateEndpoint(endpoint);
  if (url.origin !== base.origin || !url.pathname.startsWith(`${basePath}/`)) {
    throw new EndpointRejected('endpoint escapes the service base URL');
  }
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
  }
  return url;
}

const BLOCKED_IPV4_RANGES = new Set([
  'unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'carrierGradeNat', 'private', 'reserved',
]);
const BLOCKED_IPV6_RANGES = new Set([
  'unspecified', 'linkLocal', 'multicast', 'loopback', 'uniqueLocal', 'deprecatedSiteLocal', 'discard',
  'reserved', 'benchmarking',
]);

function ipv4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** IPv6 forms that carry an IPv4 address a router will end up delivering to. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const parts = address.parts;
  const range: string = address.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145') return ipv4FromWords(parts[6], parts[7]);
  if (range === 'rfc6052' && parts[2] === 0) return ipv4FromWords(parts[6], parts[7]); // 64:ff9b::/96 NAT64
  if (range === '6to4') return ipv4FromWords(parts[1], parts[2]);
  if (range === 'unicast' && parts.slice(0, 6).every((part) => part === 0)) {
    return ipv4FromWords(parts[6], parts[7]); // deprecated IPv4-compatible ::a.b.c.d
  }
  return null;
}

/** True for anything a proxy must not reach: loopback, RFC 1918, link-local (cloud metadata), ULA, CGNAT… */
export function isPrivateAddress(ip: string): boolean {
  if (typeof ip !== 'string' || !ipaddr.isValid(ip)) return true; // unknown means unsafe
  const address = ipaddr.parse(ip);
  if (address.kind() === 'ipv4') return BLOCKED_IPV4_RANGES.has(address.range());
  const v6 = address as ipaddr.IPv6;
  const v4 = embeddedIPv4(v6);
  if (v4) return BLOCKED_IPV4_RANGES.has(v4.range());
  const range: string = v6.range();
  // 64:ff9b:1::/48 is local-use NAT64 (RFC 8215): private by definition.
  return BLOCKED_IPV6_RANGES.has(range) || range === 'rfc6052';
}

export type HostLookup = (host: string) => Promise<string[]>;

const systemLookup: HostLookup = async (host) =>
  (await dns.lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Rejects a base URL whose host is, or resolves to, a private address. A check at creation time only:
 * DNS can change later, so the proxy should also pin or re-check addresses when it connects.
 */
export async function assertPublicHost(baseUrl: string, lookup: HostLookup = systemLookup): Promise<void> {
  const host = parseHttpUrl(baseUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (ipaddr.isValid(host)) {
    addresses = [host];
  } else {
    try {
      addresses = await lookup(host);
    } catch {
      throw new EndpointRejected('host does not resolve');
    }
  }
  if (addresses.length === 0) throw new EndpointRejected('host does not resolve');
  if (addresses.some(isPrivateAddress)) {
    throw new EndpointRejected('host resolves to a private or reserved address');
  }
}
