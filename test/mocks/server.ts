/**
 * The HTTP machinery every mock upstream shares: record each request, apply programmed faults,
 * then write the protocol's answer (JSON or a stream of chunks) onto a plain node:http server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CustomReply, Fault, FaultOptions, MockOptions, MockUpstream, RecordedRequest } from './types';

export type MockReply =
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'raw'; status: number; body: string | Buffer; contentType: string; headers?: Record<string, string> }
  | { kind: 'stream'; status: number; contentType: string; chunks: string[]; intervalMs?: number; headers?: Record<string, string> };

export interface MockProtocol {
  /** Answer a request that no fault intercepted. */
  handle(req: RecordedRequest): MockReply;
  /** The protocol's own error body for a status fault without an explicit body. */
  errorBody(status: number, req?: RecordedRequest): unknown;
  /** Headers every answer of this upstream carries (request ids, rate-limit headers). */
  baseHeaders(): Record<string, string>;
}

interface ProgrammedFault {
  fault: Fault;
  credential?: string;
  path?: string;
  remaining: number;
}

/** Takes the first programmed fault matching a request and consumes one of its `times`. */
class FaultBook {
  private faults: ProgrammedFault[] = [];

  add(fault: Fault, opts: FaultOptions = {}): void {
    this.faults.push({ fault, credential: opts.credential, path: opts.path, remaining: opts.times ?? Infinity });
  }

  clear(): void {
    this.faults = [];
  }

  take(credential: string | null, path: string): Fault | undefined {
    const hit = this.faults.find((f) => (f.credential === undefined || f.credential === credential) && (f.path === undefined || f.path === path));
    if (!hit) return undefined;
    hit.remaining -= 1;
    if (hit.remaining <= 0) this.faults = this.faults.filter((f) => f !== hit);
    return hit.fault;
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function credentialOf(headers: http.IncomingHttpHeaders, query: Record<string, string>): string | null {
  const auth = firstHeader(headers.authorization);
  if (auth) {
    const bearer = /^Bearer\s+(.+)$/i.exec(auth);
    if (bearer) return bearer[1].trim();
    const basic = /^Basic\s+(.+)$/i.exec(auth);
    // Stripe-style basic auth carries the secret as the user name.
    if (basic) return Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0] || null;
  }
  return firstHeader(headers['x-api-key']) ?? firstHeader(headers['api-key']) ?? query.key ?? query.appid ?? null;
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw.length === 0) return null;
  if (contentType && /json/i.test(contentType)) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

async function readRequest(req: http.IncomingMessage): Promise<RecordedRequest> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const raw = Buffer.concat(parts).toString('utf8');
  const url = new URL(req.url ?? '/', 'http://mock.local');
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, key) => {
    query[key] = value;
  });
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query,
    headers: { ...req.headers },
    body: parseBody(raw, firstHeader(req.headers['content-type'])),
    rawBody: raw,
    credential: credentialOf(req.headers, query),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolves once the chunk reached the socket, so a following destroy cannot swallow it. */
function writeFlushed(res: http.ServerResponse, chunk: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(chunk, () => resolve());
  });
}

async function writeReply(
  res: http.ServerResponse,
  reply: MockReply,
  extraHeaders: Record<string, string>,
  dropAfter: number | undefined,
  chunkDelayMs: number,
): Promise<void> {
  const headers = { ...reply.headers, ...extraHeaders };
  if (reply.kind === 'stream') {
    res.writeHead(reply.status, { 'content-type': reply.contentType, 'cache-control': 'no-cache', ...headers });
    res.flushHeaders();
    for (let i = 0; i < reply.chunks.length; i++) {
      if (res.destroyed) return;
      if (dropAfter !== undefined && i >= dropAfter) {
        res.socket?.destroy();
        return;
      }
      await writeFlushed(res, reply.chunks[i]);
      const pause = reply.intervalMs ?? chunkDelayMs;
      if (pause > 0) await sleep(pause);
    }
    if (dropAfter !== undefined && dropAfter >= reply.chunks.length) {
      // Every event went out, but the stream still never finishes cleanly.
      res.socket?.destroy();
      return;
    }
    res.end();
    return;
  }
  const body = reply.kind === 'json' ? JSON.stringify(reply.body) : reply.body;
  const contentType = reply.kind === 'json' ? 'application/json' : reply.contentType;
  res.writeHead(reply.status, {
    // an empty content type sends none (an upstream that labels nothing)
    ...(contentType ? { 'content-type': contentType } : {}),
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  if (dropAfter !== undefined) {
    await writeFlushed(res, body.slice(0, Math.floor(body.length / 2)));
    res.socket?.destroy();
    return;
  }
  res.end(body);
}

function statusReply(fault: Extract<Fault, { kind: 'status' }>, protocol: MockProtocol, req: RecordedRequest): MockReply {
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  Object.assign(headers, fault.headers);
  if (typeof fault.body === 'string') {
    return { kind: 'raw', status: fault.status, body: fault.body, contentType: 'text/plain; charset=utf-8', headers };
  }
  return { kind: 'json', status: fault.status, body: fault.body ?? protocol.errorBody(fault.status, req), headers };
}

function customReply(custom: CustomReply): MockReply {
  if ('chunks' in custom) return { kind: 'stream', ...custom };
  return { kind: 'raw', ...custom };
}

export async function startMockServer(protocol: MockProtocol, opts: MockOptions = {}): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const faults = new FaultBook();
  const chunkDelayMs = opts.chunkDelayMs ?? 0;

  async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const recorded = await readRequest(req);
    requests.push(recorded);
    const fault = faults.take(recorded.credential, recorded.path);
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') await sleep(fault.ms);
    if (res.destroyed) return;
    const reply =
      fault?.kind === 'status' ? statusReply(fault, protocol, recorded) : fault?.kind === 'reply' ? customReply(fault.reply(recorded)) : protocol.handle(recorded);
    reply.headers = { ...protocol.baseHeaders(), ...reply.headers };
    const extra = fault?.kind === 'headers' ? fault.headers : {};
    const dropAfter = fault?.kind === 'dropMidStream' ? fault.afterChunks : undefined;
    await writeReply(res, reply, extra, dropAfter, chunkDelayMs);
  }

  const server = http.createServer({ keepAlive: true }, (req, res) => {
    answer(req, res).catch(() => {
      // A mock bug or a client that vanished mid-request: answer 500 if still possible.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(protocol.errorBody(500)));
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fail: (fault, faultOpts) => faults.add(fault, faultOpts),
    clearFaults: () => faults.clear(),
    reset: () => {
      requests.length = 0;
      faults.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
