import ipaddr from 'ipaddr.js';
import { Agent, type Dispatcher } from 'undici';
import { isPrivateAddress } from '../proxy/endpoint-guard';
import { publicOnlyLookup } from '../proxy/forward';

/**
 * One webhook POST. The same SSRF guard as /proxy upstreams: a literal private IP is refused up front, a host name is
 * resolved at connect time by a lookup that refuses private addresses (DNS rebinding), unless the webhook was
 * explicitly allowed a private address. Redirects are not followed. The receiver's body is read and dropped.
 */

export type SendOutcome =
  | { kind: 'delivered'; status: number }
  /** worth another attempt later: 408, 429, 5xx, a timeout or a connection error */
  | { kind: 'retry'; status?: number; error: string; retryAfterMs?: number }
  /** another attempt would fare no better: 3xx (not followed), other 4xx, a private address */
  | { kind: 'failed'; status?: number; error: string };

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED',
]);
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const MAX_RETRY_AFTER_MS = 3_600_000;

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code;
}

function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text || !/^\d{1,7}$/.test(text.trim())) return undefined;
  return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
}

export interface WebhookRequest {
  url: string;
  allowPrivate: boolean;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export class WebhookSender {
  private readonly publicOnly = new Agent({ keepAliveTimeout: 10_000, connections: 32, connect: { lookup: publicOnlyLookup } });
  private readonly anyAddress = new Agent({ keepAliveTimeout: 10_000, connections: 32 });

  async send(req: WebhookRequest): Promise<SendOutcome> {
    const url = new URL(req.url);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!req.allowPrivate && ipaddr.isValid(host) && isPrivateAddress(host)) {
      return { kind: 'failed', error: 'the URL is on a private or reserved address' };
    }
    const dispatcher: Dispatcher = req.allowPrivate ? this.anyAddress : this.publicOnly;
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: AbortSignal.timeout(req.timeoutMs),
      });
    } catch (err) {
      const code = errorCode(err);
      if (code === 'EPRIVATEADDR') return { kind: 'failed', error: 'the host resolves to a private or reserved address' };
      if ((err as Error)?.name === 'TimeoutError' || TIMEOUT_ERRORS.has(code ?? '')) return { kind: 'retry', error: 'timeout' };
      if (CONNECTION_ERRORS.has(code ?? '')) return { kind: 'retry', error: `connection error (${code})` };
      return { kind: 'retry', error: 'request failed' };
    }
    res.body.dump({ limit: 64 * 1024 }).catch(() => {});
    const status = res.statusCode;
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    if (status === 408 || status === 429 || status >= 500) {
      return { kind: 'retry', status, error: `HTTP ${status}`, retryAfterMs: retryAfterMs(res.headers['retry-after']) };
    }
    if (status >= 300 && status < 400) return { kind: 'failed', status, error: `HTTP ${status} (redirects are not followed)` };
    return { kind: 'failed', status, error: `HTTP ${status}` };
  }

  async close(): Promise<void> {
    await Promise.all([this.publicOnly.close(), this.anyAddress.close()]);
  }
}
