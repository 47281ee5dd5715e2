import ipaddr from 'ipaddr.js';
import { boundedMemo } from '../memo';

export interface ParsedCidr {
  /** The entry as the admin wrote it, for display. */
  source: string;
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

/** Strict parse: IPv4 only in dotted-quad form, so '10' or '0x0a.1' are not silently read as addresses. */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return null;
}

function parseCidr(entry: string): ParsedCidr | null {
  if (typeof entry !== 'string') return null;
  const source = entry.trim();
  const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(source);
  if (!match) return null;
  let address = parseAddress(match[1]);
  if (!address || (address.kind() === 'ipv6' && (address as ipaddr.IPv6).zoneId)) return null;
  const maxBits = address.kind() === 'ipv4' ? 32 : 128;
  let bits = match[2] === undefined ? maxBits : Number(match[2]);
  if (bits > maxBits) return null;
  // '::ffff:10.0.0.0/104' means the IPv4 range 10.0.0.0/8; store it that way so IPv4 clients match it.
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
  }
  return { source, range: [address, bits] };
}

export function isValidCidr(entry: string): boolean {
  return parseCidr(entry) !== null;
}

/** Parses an allow-list of CIDRs or bare addresses (/32, /128); throws naming the first bad entry. */
export function parseCidrList(list: string[]): ParsedCidr[] {
  return list.map((entry, index) => {
    const parsed = parseCidr(entry);
    if (!parsed) throw new Error(`allowed IP entry ${index + 1} is not an IP address or CIDR range: ${String(entry)}`);
    return parsed;
  });
}

/**
 * Whether a client address falls in the allow-list. An empty list means no restriction.
 * `::ffff:1.2.3.4` (how a dual-stack socket reports IPv4 clients) is treated as 1.2.3.4.
 */
export function ipAllowed(ip: string, list: ParsedCidr[]): boolean {
  if (list.length === 0) return true;
  const address = typeof ip === 'string' ? processedAddress(ip) : null;
  if (!address) return false;
  return list.some(({ range }) => {
    const [network, bits] = range;
    if (address.kind() === network.kind()) return address.match(network, bits);
    // An IPv4 client still matches an IPv6 range written over the mapped space (e.g. ::ffff:0:0/96).
    if (address.kind() === 'ipv4' && network.kind() === 'ipv6') {
      return (address as ipaddr.IPv4).toIPv4MappedAddress().match(network, bits);
    }
    return false;
  });
}

/** Parsed client addresses by their text (the same few on every request); bounded, as the text is a client's. */
const processedAddress = boundedMemo(4096, (ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null => (ipaddr.isValid(ip) ? ipaddr.process(ip) : null));

export interface ReferrerPattern {
  scheme: string | null;
  /** Host suffix after '*.', or the exact host. */
  host: string;
  wildcardHost: boolean;
  port: string;
  path: RegExp | null;
}

const PATTERN_SHAPE = /^(?:(https?):\/\/)?(\*\.)?([A-Za-z0-9.-]+)(?::(\d{1,5}))?(\/.*)?$/;

export function compileReferrerPattern(pattern: string): ReferrerPattern | null {
  const match = typeof pattern === 'string' ? PATTERN_SHAPE.exec(pattern.trim()) : null;
  if (!match) return null;
  const [, scheme, wildcard, host, port, path] = match;
  if (host.startsWith('.') || host.endsWith('.') || host.includes('..')) return null;
  const pathRegex =
    path && path !== '/' && path !== '/*'
      ? new RegExp(`^${path.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
      : null;
  return { scheme: scheme ?? null, host: host.toLowerCase(), wildcardHost: Boolean(wildcard), port: port ?? '', path: pathRegex };
}

export function isValidReferrerPattern(pattern: string): boolean {
  return pattern === '*' || compileReferrerPattern(pattern) !== null;
}

/**
 * Patterns: 'https://app.example.com', 'app.example.com', '*.example.com' (subdomains only, not the apex),
 * 'https://*.example.com/path*', or '*' (any referrer at all). A pattern without a port matches only the
 * scheme's default port. An empty list means no restriction; with a non-empty list a missing referrer fails.
 */
export function referrerAllowed(referrer: string | undefined, patterns: string[]): boolean {
  if (patterns.length === 0) return true;
  if (!referrer) return false;
  let url: URL;
  try {
    url = new URL(referrer);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const host = url.hostname.toLowerCase();
  return patterns.some((raw) => {
    if (raw === '*') return true;
    const pattern = compileReferrerPattern(raw);
    if (!pattern) return false;
    if (pattern.scheme && `${pattern.scheme}:` !== url.protocol) return false;
    const defaultPort = url.protocol === 'https:' ? '443' : '80';
    if ((pattern.port || defaultPort) !== (url.port || defaultPort)) return false;
    const hostMatches = pattern.wildcardHost ? host.endsWith(`.${pattern.host}`) : host === pattern.host;
    if (!hostMatches) return false;
    return pattern.path === null || pattern.path.test(url.pathname);
  });
}
