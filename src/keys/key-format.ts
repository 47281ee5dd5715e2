import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export type GatewayKeyEnv = 'live' | 'test';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PREFIXES: Record<GatewayKeyEnv, string> = { live: 'kw_live_', test: 'kw_test_' };
const PREFIX_LENGTH = 8;
export const GATEWAY_KEY_BODY_LENGTH = 40;
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32, so every crc32 value has its own checksum
export const GATEWAY_KEY_LENGTH = PREFIX_LENGTH + GATEWAY_KEY_BODY_LENGTH + CHECKSUM_LENGTH;
const SHAPE = /^kw_(live|test)_[0-9A-Za-z]+$/;

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function checksum(prefixAndBody: string): string {
  let value = crc32(prefixAndBody);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** `kw_<env>_` + 40 random base62 characters + a 6-character crc32 checksum. */
export function generateGatewayKey(env: GatewayKeyEnv): string {
  const prefixAndBody = PREFIXES[env] + randomBase62(GATEWAY_KEY_BODY_LENGTH);
  return prefixAndBody + checksum(prefixAndBody);
}

/** Offline check that rejects mistyped or foreign strings before any database lookup. */
export function parseGatewayKey(key: string): { env: GatewayKeyEnv } | null {
  if (typeof key !== 'string' || key.length !== GATEWAY_KEY_LENGTH) return null;
  const shape = SHAPE.exec(key);
  if (!shape) return null;
  const split = GATEWAY_KEY_LENGTH - CHECKSUM_LENGTH;
  if (checksum(key.slice(0, split)) !== key.slice(split)) return null;
  return { env: shape[1] as GatewayKeyEnv };
}

/** The only form in which a gateway key is stored. */
export function hashGatewayKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface GatewayKeyHint {
  /** `kw_live_` / `kw_test_`, or '' when the key has no recognised prefix. */
  prefix: string;
  last4: string;
}

/** What may be stored beside the hash so the key can be shown masked later. */
export function gatewayKeyHint(key: string): GatewayKeyHint {
  const shape = typeof key === 'string' ? SHAPE.exec(key) : null;
  // Anything short enough that 4 characters would be a big share of it shows no tail at all.
  if (!shape || key.length < PREFIX_LENGTH + 16) return { prefix: shape ? key.slice(0, PREFIX_LENGTH) : '', last4: '' };
  return { prefix: key.slice(0, PREFIX_LENGTH), last4: key.slice(-4) };
}

export function formatGatewayKeyHint(hint: GatewayKeyHint): string {
  return `${hint.prefix}…${hint.last4}`;
}

/** `kw_live_…AbCd`. */
export function maskGatewayKey(key: string): string {
  return formatGatewayKeyHint(gatewayKeyHint(key));
}
