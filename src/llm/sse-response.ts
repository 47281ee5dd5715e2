/**
 * Writing an LLM stream to the client once routing has chosen an upstream. From here on the status line is
 * sent, so a failure can only be told in-band: an SSE error event in the client's protocol, then the end of
 * the stream — never a `[DONE]` or `message_stop` after an error, never a clean-looking close.
 */
import type { ServerResponse } from 'node:http';
import type { AppContext } from '../http/context';
import { formatSse } from '../providers/sse';
import { streamCutFailure, type LlmSurface, type StreamFailure } from '../providers/types';
import { scrubBytes, StreamScrubber } from '../proxy/secret-scrubber';
import type { ClientWatch } from './client-watch';
import type { TargetResult } from './upstream';

export type StreamEnd = 'completed' | 'failed' | 'aborted';

/** The error event each client protocol understands (OpenAI's SDK throws on `error`, Anthropic's on `event: error`). */
export function errorFrame(surface: LlmSurface, failure: StreamFailure): string {
  if (surface === 'messages') {
    return formatSse({ type: 'error', error: { type: failure.type, message: failure.message } }, 'error');
  }
  if (surface === 'responses') {
    return formatSse({ type: 'error', code: failure.code, message: failure.message, param: null }, 'error');
  }
  return formatSse({ error: { message: failure.message, type: failure.type, code: failure.code, param: null } });
}

/** Where a stream is written: the client's response itself (a Writable with drain and close). */
export type SseSink = Pick<ServerResponse, 'write' | 'end' | 'once' | 'off' | 'destroyed' | 'writableEnded'>;

/**
 * SSE headers, Nagle off, and the response taken over from Koa: events go straight to the socket instead of
 * through a PassThrough and Koa's stream.pipeline (which costs an AbortController and a DOMException per
 * response on Node 20). Headers set on ctx before this point are already on the response.
 */
export function openSseResponse(ctx: AppContext): SseSink {
  ctx.status = 200;
  ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  ctx.req.socket.setNoDelay(true);
  ctx.respond = false;
  return ctx.res;
}

/** Writes with backpressure; false once the client is gone. */
async function send(sink: SseSink, data: Buffer | string): Promise<boolean> {
  if (sink.destroyed || sink.writableEnded) return false;
  if (data.length === 0 || sink.write(data)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.once('drain', done);
    sink.once('close', done);
  });
  return !sink.destroyed;
}

export interface PumpResult {
  end: StreamEnd;
  failure: StreamFailure | null;
}

/**
 * Copies the rest of an upstream stream to the client through its translator, and every byte through the
 * attempt's secret scrubber (the held tail is let out before the stream ends, then the error event if any).
 * Never throws.
 */
export async function pumpStream(
  surface: LlmSurface,
  stream: Extract<TargetResult, { kind: 'stream' }>,
  sink: SseSink,
  clientGone: ClientWatch,
): Promise<PumpResult> {
  const { translator } = stream;
  const scrubber = new StreamScrubber(stream.needles);
  const emit = (piece: Buffer | string) => send(sink, scrubber.push(piece));
  const fail = async (failure: StreamFailure): Promise<PumpResult> => {
    stream.stop();
    if (await send(sink, scrubber.end())) {
      if (!failure.forwarded) await send(sink, scrubBytes(Buffer.from(errorFrame(surface, failure)), stream.needles));
    }
    return { end: 'failed', failure };
  };
  try {
    for (const piece of stream.held) if (!(await emit(piece))) return { end: 'aborted', failure: null };
    if (!stream.rest) return (await send(sink, scrubber.end())) ? { end: 'completed', failure: null } : { end: 'aborted', failure: null };
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await stream.rest.next();
      } catch {
        if (clientGone.aborted) return { end: 'aborted', failure: null };
        return await fail(streamCutFailure());
      }
      if (clientGone.aborted) {
        stream.stop();
        return { end: 'aborted', failure: null };
      }
      if (next.done) {
        const tail = translator.finish();
        if (tail !== null && !(await emit(tail))) return { end: 'aborted', failure: null };
        if (translator.failure) return await fail(translator.failure);
        if (tail === null) return await fail(streamCutFailure());
        if (!(await send(sink, scrubber.end()))) return { end: 'aborted', failure: null };
        return { end: 'completed', failure: null };
      }
      const out = translator.push(next.value);
      if (!(await emit(out))) {
        stream.stop();
        return { end: 'aborted', failure: null };
      }
      if (translator.failure) return await fail(translator.failure);
    }
  } catch {
    // A bug in a translator must still end the stream visibly.
    return await fail(streamCutFailure('The gateway could not read the upstream stream')).catch(() => ({ end: 'failed' as const, failure: null }));
  } finally {
    if (!sink.destroyed && !sink.writableEnded) sink.end();
  }
}
