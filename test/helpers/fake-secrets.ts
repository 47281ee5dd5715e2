import crypto from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomBase62(n: number): string {
  const bytes = crypto.randomBytes(n);
  return Array.from(bytes, (b) => BASE62[b % 62]).join('');
}

/** Fresh, realistic-looking provider secrets (random every run) in each built-in service's key format. */
export const fakeSecret = {
  openaiProject: () => `sk-proj-${randomBase62(48)}`,
  openaiLegacy: () => `sk-${randomBase62(48)}`,
  anthropic: () => `sk-ant-api03-${randomBase62(80)}`,
  stripeLive: () => `sk_live_${randomBase62(32)}`,
  stripeTest: () => `sk_test_${randomBase62(32)}`,
  stripeRestricted: () => `rk_live_${randomBase62(32)}`,
  googlemaps: () => `AIza${randomBase62(35)}`,
  openweather: () => crypto.randomBytes(16).toString('hex'),
  groq: () => `gsk_${randomBase62(52)}`,
  xai: () => `xai-${randomBase62(80)}`,
  openrouter: () => `sk-or-v1-${crypto.randomBytes(32).toString('hex')}`,
  gemini: () => `AIza${randomBase62(35)}`,
  azure: () => crypto.randomBytes(16).toString('hex') + crypto.randomBytes(16).toString('hex'),
  /** AWS-style: base64 with `/` and `+`, so its URL-encoded and JSON-escaped forms differ from it */
  awsSecretKey: () => crypto.randomBytes(30).toString('base64'),
};
