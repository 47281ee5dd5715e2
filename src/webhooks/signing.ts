import crypto from 'node:crypto';

/**
 * Webhook signatures, Stripe-like: `X-Keywallet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
 * The key is the whole secret string as UTF-8 (`whsec_…`), the message the timestamp, a dot and the raw body bytes.
 * A receiver recomputes it, compares in constant time and refuses a timestamp too far from its own clock (replays).
 */

export const SIGNATURE_HEADER = 'x-keywallet-signature';
export const SECRET_PREFIX = 'whsec_';

/** A fresh signing secret: `whsec_` + 32 random bytes, base64url. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + crypto.randomBytes(32).toString('base64url');
}

export function signatureOf(secret: string, timestamp: number, body: string): string {
  return crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header value for one delivery attempt (signed anew each attempt: the timestamp moves). */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}

/**
 * What a receiver does (and what the tests do): parse the header, recompute, compare in constant time, and refuse a
 * timestamp more than `toleranceSeconds` away from `nowSeconds`. Several v1 values are accepted (any may match).
 */
export function verifySignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureOf(secret, t, body), 'hex');
  return parts
    .filter(([k, v]) => k === 'v1' && typeof v === 'string' && /^[0-9a-f]{64}$/.test(v))
    .some(([, v]) => crypto.timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
