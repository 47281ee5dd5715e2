/** Public types of the mock upstreams; re-exported by ./index. */

export type Fault =
  /** Answer with this status (and the protocol's own error body unless `body` is given). */
  | { kind: 'status'; status: number; retryAfter?: number; headers?: Record<string, string>; body?: unknown }
  /** Answer normally, but only after `ms`. */
  | { kind: 'delay'; ms: number }
  /** Destroy the socket before any response byte. */
  | { kind: 'drop' }
  /** Send `afterChunks` SSE events (or stream pieces), then destroy the socket. A JSON answer is cut in half. */
  | { kind: 'dropMidStream'; afterChunks: number }
  /** Answer normally with these extra headers (e.g. x-ratelimit-remaining-requests: 0). */
  | { kind: 'headers'; headers: Record<string, string> }
  /** Answer with whatever `reply` builds from the request (an echo of its credential, a 200 HTML page…); see ./echo. */
  | { kind: 'reply'; reply: (req: RecordedRequest) => CustomReply };

/** A hand-built answer: one body, or stream pieces written one by one (`intervalMs` apart, so they arrive apart). */
export type CustomReply =
  | { status: number; contentType: string; body: string | Buffer; headers?: Record<string, string> }
  | { status: number; contentType: string; chunks: string[]; intervalMs?: number; headers?: Record<string, string> };

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, the raw string otherwise, null when empty. */
  body: any;
  /** The body as it arrived (utf-8 text). */
  rawBody: string;
  /** Bearer token, x-api-key, api-key header, Basic user name, or ?key= / ?appid= query value. */
  credential: string | null;
}

export interface FaultOptions {
  /** Only requests carrying exactly this credential are hit; any request when omitted. */
  credential?: string;
  /** Only requests to exactly this path (without the query string) are hit; any path when omitted. */
  path?: string;
  /** How many matching requests the fault applies to; until cleared when omitted. */
  times?: number;
}

export interface MockUpstream {
  /** http://127.0.0.1:<port> */
  url: string;
  requests: RecordedRequest[];
  /** Program a fault. When several faults match a request, the earliest programmed one wins. */
  fail(fault: Fault, opts?: FaultOptions): void;
  clearFaults(): void;
  /** Clear recorded requests and faults. */
  reset(): void;
  close(): Promise<void>;
}

export interface MockOptions {
  /** 0 (any free port) by default. */
  port?: number;
  /** Pause between streamed events, so a client can abort mid-stream; 0 by default. */
  chunkDelayMs?: number;
}
