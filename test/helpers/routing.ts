import http from 'node:http';
import { randomBase62 } from './fake-secrets';
import type { TestGateway } from './gateway';
import { createUserWithKey } from './keys';

/** Set-up shared by the routing and proxy tests: custom services on mock upstreams, wallet entries, keys. */

type Node = Pick<TestGateway, 'request'>;

export interface ServiceBody {
  slug: string;
  baseUrl: string;
  auth?: { type: 'bearer' | 'header' | 'query' | 'basic'; name?: string };
  timeoutMs?: number;
  costPerCall?: number;
  kind?: 'rest' | 'llm';
  credentialCheck?: { method?: 'GET' | 'HEAD' | 'POST'; path: string; query?: Record<string, string> } | null;
}

let slugSeq = 0;
export const uniqueSlug = (prefix = 'svc') => `${prefix}-${Date.now().toString(36)}-${++slugSeq}`;

/** A custom service on a local mock (a private address, hence allowPrivate). */
export async function createService(gw: Node, adminToken: string, body: ServiceBody): Promise<void> {
  const res = await gw.request('/services', {
    method: 'POST',
    token: adminToken,
    body: { kind: 'rest', auth: { type: 'bearer' }, allowPrivate: true, ...body },
  });
  if (res.status !== 201) throw new Error(`POST /services answered ${res.status}: ${res.text}`);
}

export interface EntryBody {
  service: string;
  label?: string;
  tier?: 'free' | 'paid';
  priority?: number;
  weight?: number;
  environment?: 'live' | 'test';
  quota?: { limit: number; unit: 'requests' | 'tokens' | 'credits'; period: 'minute' | 'hour' | 'day' | 'month' };
  /** a team's own pool */
  teamId?: string | null;
}

/** A wallet entry with a fresh random secret; returns its id and the secret (for mock fault matching). */
export async function addEntry(gw: Node, adminToken: string, body: EntryBody): Promise<{ id: string; secret: string }> {
  const secret = `prov_${randomBase62(40)}`;
  const res = await gw.request('/wallet/keys', {
    method: 'POST',
    token: adminToken,
    body: { label: body.label ?? `${body.service} entry`, ...body, secret },
  });
  if (res.status !== 201) throw new Error(`POST /wallet/keys answered ${res.status}: ${res.text}`);
  return { id: res.body.id, secret };
}

/** A developer on the enterprise plan (generous rate limits) with a gateway key. */
export async function developerKey(gw: TestGateway, keyBody: Record<string, unknown> = {}): Promise<string> {
  return (await createUserWithKey(gw, 'developer', keyBody, 'enterprise')).key;
}

export interface RawResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A request whose path goes on the wire exactly as written (fetch would normalise `..` and friends away). */
export function rawRequest(baseUrl: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResult> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method: opts.method ?? 'GET', path, headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
