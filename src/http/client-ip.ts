import type Koa from 'koa';
import ipaddr from 'ipaddr.js';
import { ipAllowed, parseCidrList, ParsedCidr } from './ip-allow';
import { boundedMemo } from '../memo';

/**
 * Which reverse proxies in front of the gateway are trusted to report the client's address (TRUST_PROXY).
 * X-Forwarded-For is read from the right: each proxy appends the address it received the request from, so
 * only the entries the trusted proxies wrote can be believed; anything to their left is whatever the client
 * sent. `hops`: that many proxies sit in front (the socket peer and hops-1 entries of the header are proxies).
 * `cidrs`: every address (socket peer first, then the header right to left) inside one of these ranges is a
 * proxy; the first one outside them is the client.
 */
export type TrustProxy = false | { hops: number; cidrs?: undefined } | { cidrs: ParsedCidr[]; hops?: undefined };

const MAX_HOPS = 10;

/** Parses TRUST_PROXY: `false`/`0`, `true` (= 1 hop), a hop count, or a comma-separated list of proxy CIDRs. */
export function parseTrustProxy(text: string): TrustProxy {
  const value = text.trim().toLowerCase();
  if (['', 'false', 'no', '0'].includes(value)) return false;
  if (value === 'true' || value === 'yes') return { hops: 1 };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > MAX_HOPS) throw new Error(`a hop count above ${MAX_HOPS} is not plausible`);
    return { hops };
  }
  const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) throw new Error('must be false, true, a hop count or a comma-separated list of proxy CIDRs');
  try {
    return { cidrs: parseCidrList(entries) };
  } catch (err) {
    throw new Error(`must be false, true, a hop count or a comma-separated list of proxy CIDRs (${(err as Error).message})`);
  }
}

/** `::ffff:1.2.3.4` → `1.2.3.4`, `[::1]` → `::1`, `1.2.3.4:5678` → `1.2.3.4`; null when not an IP address. */
function normalise(entry: string | undefined): string | null {
  return entry ? normalisedEntry(entry) : null;
}

/** By text: a gateway sees the same few peers and proxies on every request (header entries are the client's text). */
const normalisedEntry = boundedMemo(4096, (entry: string): string | null => {
  let text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  if (!ipaddr.isValid(text)) return null;
  if (ipaddr.IPv4.isValid(text) && !ipaddr.IPv4.isValidFourPartDecimal(text)) return null;
  return ipaddr.process(text).toString();
});

/**
 * The client's address: the socket peer, or, behind trusted proxies, the address the outermost trusted proxy
 * received the request from. A malformed entry ends the walk (everything left of it is the client's own text),
 * so the answer is always an address some trusted hop actually saw.
 */
export function resolveClientIp(remoteAddress: string | undefined, forwardedFor: string | undefined, trust: TrustProxy): string {
  const peer = normalise(remoteAddress) ?? remoteAddress ?? '';
  if (!trust || !forwardedFor) return peer;
  const chain = forwardedFor.split(',');
  let client = peer;
  let proxy = peer;
  for (let seen = 0, i = chain.length - 1; i >= 0; i--, seen++) {
    const isProxy = trust.hops !== undefined ? seen < trust.hops : ipaddr.isValid(proxy) && ipAllowed(proxy, trust.cidrs);
    if (!isProxy) break;
    const next = normalise(chain[i]);
    if (!next) break;
    client = next;
    proxy = next;
  }
  return client;
}

/**
 * Makes `ctx.ip` (and `ctx.request.ip`) of this app the resolved client address, computed once per request and
 * only when asked for. Everything that needs the client's address — gateway-key IP allow-lists, login
 * throttling, audit rows, logs — reads it there (through `clientIp(ctx)`), so they cannot disagree.
 */
export function installClientIp(app: Koa<any, any>, trust: TrustProxy): void {
  const memo = Symbol('clientIp');
  Object.defineProperty(app.request, 'ip', {
    configurable: true,
    get(this: Koa.Request & { [memo]?: string }) {
      return (this[memo] ??= resolveClientIp(this.req.socket?.remoteAddress, this.get('x-forwarded-for') || undefined, trust));
    },
    set(this: Koa.Request & { [memo]?: string }, value: string) {
      this[memo] = value;
    },
  });
}
