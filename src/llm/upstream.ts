/**
 * One upstream attempt of an LLM request, as the router runs it for each wallet entry: send through the shared
 * forwarder (credential injection, pooled connections, status classification), then read the answer. A stream
 * is read up to its first bytes for the client before the attempt counts as served: until then nothing has
 * reached the client, so a stream that dies that early falls back to the next entry like any failed call.
 */
import type { Readable } from 'node:stream';
import { AppError } from '../http/errors';
import { boundedMemo } from '../memo';
import type { ClientWatch } from './client-watch';
import type { ProviderAdapter, ClientAnswer, LlmRequest, StreamTranslator, UpstreamRequest } from '../providers/types';
import { causeOf, forward, PrivateAddressRefused, type UpstreamAgents } from '../proxy/forward';
import { upstreamPathFor } from '../providers/upstream-path';
import { needlesFor, type SecretNeedles } from '../proxy/secret-scrubber';
import type { AttemptContext, AttemptOutcome, RetryReason } from '../routing/router-types';

export type TargetResult =
  | { kind: 'answer'; answer: ClientAnswer; admittedAtMs: number; needles: SecretNeedles }
  | {
      kind: 'stream';
      /** the forms of the attempt's provider secret, scrubbed from every byte the client gets */
      needles: SecretNeedles;
      translator: StreamTranslator;
      /** client bytes read while deciding the attempt served; sent first */
      held: (Buffer | string)[];
      /** the rest of the upstream body; null when it already ended during the first read */
      rest: AsyncIterator<Buffer> | null;
      /** stops the upstream request (client gone, or the stream failed in-band) */
      stop: () => void;
      admittedAtMs: number;
    };

export interface AttemptInput {
  agents: UpstreamAgents;
  adapter: ProviderAdapter;
  request: LlmRequest;
  upstream: UpstreamRequest;
  /** aborts when the client disconnects */
  clientGone: ClientWatch;
  now: () => number;
}

/** Thrown inside an attempt when the client has gone: nobody is waiting, so no other entry is tried. */
export function clientClosed(): AppError {
  return new AppError('invalid_request', 'The client closed the request');
}

/** Joins a service base URL and an API path; a base URL that already ends in /v1 does not get a second one. */
export function upstreamUrl(baseUrl: string, path: string): URL {
  return joined(`${baseUrl}\u0000${path}`);
}
/** Joined URLs by base URL and path: a handful of distinct ones, parsed once. Never mutated (forward copies). */
const joined = boundedMemo(1000, (key: string): URL => {
  const cut = key.indexOf('\u0000');
  const baseUrl = key.slice(0, cut);
  const path = key.slice(cut + 1);
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const rest = prefix.endsWith('/v1') && path.startsWith('/v1/') ? path.slice(3) : path;
  return new URL(`${base.origin}${prefix}${rest}`);
});

/** The whole body: undici's own collector when it is undici's body (no async iterator per answer), else chunks. */
export async function readAll(body: Readable): Promise<Buffer> {
  const collect = (body as Readable & { arrayBuffer?: () => Promise<ArrayBuffer> }).arrayBuffer;
  if (typeof collect === 'function') return Buffer.from(await collect.call(body));
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function failureReason(code: string): RetryReason {
  return /overload/i.test(code) ? 'overloaded' : code.includes('rate_limit') ? 'rate_limited' : 'server_error';
}

export function llmAttempt(input: AttemptInput): (a: AttemptContext) => Promise<AttemptOutcome<TargetResult>> {
  const { adapter, request, upstream, clientGone } = input;
  return async (a) => {
    if (clientGone.aborted) throw clientClosed();
    // The router's signal carries the whole upstream request: its timeout, the client leaving, or stop().
    const signal = a.signal;
    const trip = a.stop;
    clientGone.onAbort(trip);
    let sent: Awaited<ReturnType<typeof forward>>;
    try {
      sent = await forward(
        input.agents,
        { service: a.service, secret: a.secret, url: upstreamUrl(a.service.baseUrl, upstreamPathFor(a.service, a.entry, upstream.path, request.model)), method: upstream.method, headers: upstream.headers, body: typeof upstream.body === 'function' ? upstream.body() : upstream.body, signal },
        input.now(),
      );
    } catch (err) {
      if (err instanceof PrivateAddressRefused) {
        throw new AppError('upstream_failed', `The upstream of service '${a.service.slug}' resolves to a private or reserved address`);
      }
      throw err;
    }
    if (clientGone.aborted) throw clientClosed();
    if (sent.kind !== 'ok') return sent;
    const res = sent.value;
    // The gateway shaped this request (path, headers): a 401 is the provider's word that the key is bad.
    if (res.status === 401) {
      res.body.resume();
      return { kind: 'invalid', status: 401 };
    }
    // A 403 may be about the model asked for: the client gets it, the credential check decides about the key.
    const ok = (value: TargetResult) => ({ kind: 'ok' as const, value, status: res.status, headers: sent.headers, credentialSuspect: sent.credentialSuspect });
    const needles = needlesFor(a.secret);
    try {
      if (res.status < 200 || res.status >= 300) {
        const answer = adapter.mapError(request, res.status, await readAll(res.body));
        return ok({ kind: 'answer', answer, admittedAtMs: a.admittedAtMs, needles });
      }
      if (request.surface === 'speech') {
        // audio bytes go to the client as they come (the handler pipes them): nothing to read on the way
        const contentType = String(res.headers['content-type'] ?? 'application/octet-stream');
        return ok({ kind: 'answer', answer: { status: res.status, body: res.body, usage: null, contentType }, admittedAtMs: a.admittedAtMs, needles });
      }
      if (!request.stream) {
        const bytes = await readAll(res.body);
        const contentType = String(res.headers['content-type'] ?? '');
        // transcripts asked for as text, srt or vtt are not JSON, and need not be
        if (request.surface === 'audio' && !/json/i.test(contentType)) {
          return ok({ kind: 'answer', answer: { status: res.status, body: bytes, usage: null, contentType: contentType || 'text/plain' }, admittedAtMs: a.admittedAtMs, needles });
        }
        const answer = adapter.parseResponse(request, bytes);
        // A 2xx that is not an answer (an HTML error page, cut or broken JSON) is an upstream failure, not a
        // success to pass on and bill: the entry cools down like on a 5xx and the next one is tried.
        if (!answer) return { kind: 'retry', reason: 'server_error', status: res.status, headers: sent.headers, cause: 'NOT_AN_ANSWER' };
        return ok({ kind: 'answer', answer, admittedAtMs: a.admittedAtMs, needles });
      }
      const translator = adapter.createStream(request);
      const rest = res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const stop = trip;
      for (;;) {
        const next = await rest.next();
        if (next.done) {
          const tail = translator.finish();
          if (translator.failure) return { kind: 'retry', reason: failureReason(translator.failure.code) };
          if (tail === null) return { kind: 'retry', reason: 'connection_error', cause: 'STREAM_CUT' };
          return ok({ kind: 'stream', translator, held: [tail], rest: null, stop, admittedAtMs: a.admittedAtMs, needles });
        }
        const out = translator.push(next.value);
        if (translator.failure) {
          stop();
          return { kind: 'retry', reason: failureReason(translator.failure.code) };
        }
        if (out.length > 0) return ok({ kind: 'stream', translator, held: [out], rest, stop, admittedAtMs: a.admittedAtMs, needles });
      }
    } catch (err) {
      trip();
      if (clientGone.aborted) throw clientClosed();
      if (a.timedOut) return { kind: 'retry', reason: 'timeout' };
      if (err instanceof AppError) throw err;
      return { kind: 'retry', reason: 'connection_error', cause: causeOf(err) };
    }
  };
}
