import ipaddr from 'ipaddr.js';
import { compileReferrerPattern, parseCidrList, type ParsedCidr } from '../http/ip-allow';

/**
 * Whether one restriction is at least as strict as another: "allows nothing the other does not". Used to let a
 * key's owner narrow what an admin set (a subset of IP ranges, referrers, models) and never widen it.
 */

/** Every range of `inner` lies inside some range of `outer`. An empty `inner` means "no restriction": never narrower. */
export function ipRangesWithin(inner: string[], outer: string[]): boolean {
  if (inner.length === 0) return false;
  let a: ParsedCidr[];
  let b: ParsedCidr[];
  try {
    a = parseCidrList(inner);
    b = parseCidrList(outer);
  } catch {
    return false;
  }
  return a.every(({ range: [addr, bits] }) => b.some(({ range: [net, netBits] }) => rangeInside(addr, bits, net, netBits)));
}

function rangeInside(addr: ipaddr.IPv4 | ipaddr.IPv6, bits: number, net: ipaddr.IPv4 | ipaddr.IPv6, netBits: number): boolean {
  if (addr.kind() === 'ipv4' && net.kind() === 'ipv6') {
    return rangeInside((addr as ipaddr.IPv4).toIPv4MappedAddress(), bits + 96, net, netBits);
  }
  if (addr.kind() !== net.kind() || bits < netBits) return false;
  return addr.match(net, netBits);
}

/** Every pattern of `inner` matches only referrers some pattern of `outer` matches. */
export function referrersWithin(inner: string[], outer: string[]): boolean {
  if (inner.length === 0) return false;
  return inner.every((pattern) => outer.some((o) => referrerWithin(pattern, o)));
}

function referrerWithin(inner: string, outer: string): boolean {
  if (outer === '*') return true;
  if (inner === '*') return false;
  const i = compileReferrerPattern(inner);
  const o = compileReferrerPattern(outer);
  if (!i || !o) return false;
  if (o.scheme && i.scheme !== o.scheme) return false;
  // no port means the scheme's default one on both sides, and the schemes already agree where the outer names one
  if (i.port !== o.port) return false;
  const hostInside = o.wildcardHost ? i.host.endsWith(`.${o.host}`) : !i.wildcardHost && i.host === o.host;
  if (!hostInside) return false;
  return o.path === null || (i.path !== null && i.path.source === o.path.source);
}

/** Every model entry of `inner` allows only models some entry of `outer` allows (see restrictions.modelAllowed). */
export function modelsWithin(inner: string[], outer: string[]): boolean {
  if (inner.length === 0) return false;
  return inner.every((entry) => outer.some((o) => modelEntryWithin(entry, o)));
}

function modelEntryWithin(inner: string, outer: string): boolean {
  const innerHasService = inner.includes('/');
  const outerHasService = outer.includes('/');
  // a bare entry allows the model under any service: only a bare outer entry covers it
  if (!innerHasService && outerHasService) return false;
  const candidate = innerHasService && !outerHasService ? inner.slice(inner.indexOf('/') + 1) : inner;
  if (outer.endsWith('*')) return candidate.startsWith(outer.slice(0, -1));
  return !candidate.endsWith('*') && candidate === outer;
}
