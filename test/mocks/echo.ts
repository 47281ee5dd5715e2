/**
 * Faults for an upstream that hands back what it should not: the request's credential echoed into an answer's
 * content, an error's code or param, a stream (cut in the middle of the secret, across two network writes), a
 * response header — and 200 answers that are no answer at all (an HTML page, broken JSON).
 * Use with `mock.fail(echo.openaiCompletion(echo.key), { times: 1 })`.
 */
import type { CustomReply, Fault, RecordedRequest } from './types';
import { sseData, sseEvent } from './text';

/** What part of the request the upstream reflects back. */
export type Reflect = (req: RecordedRequest) => string;

function header(req: RecordedRequest, name: string): string {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** The provider secret itself (bearer token, x-api-key, Basic user name, ?key=). */
export const key: Reflect = (req) => req.credential ?? '';
/** The credential header exactly as sent (`Bearer …`, `Basic <base64>`, or the x-api-key value). */
export const credentialHeader: Reflect = (req) => header(req, 'authorization') || header(req, 'x-api-key');
/** The secret as a Basic credential, the way Stripe-style services take it. */
export const basicOfKey: Reflect = (req) => `Basic ${Buffer.from(`${req.credential ?? ''}:`).toString('base64')}`;
export const urlEncodedKey: Reflect = (req) => `https://upstream.test/cb?key=${encodeURIComponent(req.credential ?? '')}`;

export interface EchoOptions {
  /** response headers whose values reflect the request */
  headers?: Record<string, Reflect>;
}

function headersOf(req: RecordedRequest, opts: EchoOptions): Record<string, string> {
  return Object.fromEntries(Object.entries(opts.headers ?? {}).map(([name, reflect]) => [name, reflect(req)]));
}

function reply(build: (req: RecordedRequest) => CustomReply): Fault {
  return { kind: 'reply', reply: build };
}

function json(req: RecordedRequest, status: number, body: unknown, opts: EchoOptions): CustomReply {
  return { status, contentType: 'application/json', body: JSON.stringify(body), headers: headersOf(req, opts) };
}

/**
 * SSE frames with the reflected text in the middle one, written so that the secret is cut in two: the frame is
 * sent as two writes split inside the secret, a few ms apart (they arrive as separate chunks).
 */
function splitStream(req: RecordedRequest, before: string[], frame: (text: string) => string, after: string[], reflected: string, opts: EchoOptions): CustomReply {
  const secret = req.credential ?? '';
  const whole = frame(reflected);
  const inSecret = secret ? whole.indexOf(secret) : -1;
  // cut inside the raw secret when it is there, else inside the reflected text
  const cut = inSecret >= 0 ? inSecret + Math.floor(secret.length / 2) : whole.indexOf(reflected) + Math.floor(reflected.length / 2);
  return {
    status: 200,
    contentType: 'text/event-stream; charset=utf-8',
    chunks: [...before, whole.slice(0, cut), whole.slice(cut), ...after],
    intervalMs: 5,
    headers: headersOf(req, opts),
  };
}

function modelOf(req: RecordedRequest, fallback: string): string {
  const body = req.body as { model?: unknown } | null;
  return typeof body?.model === 'string' ? body.model : fallback;
}

// ---- OpenAI ----

export function openaiCompletion(text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) =>
    json(req, 200, {
      id: 'chatcmpl-echo',
      object: 'chat.completion',
      created: 1,
      model: modelOf(req, 'gpt-4o'),
      choices: [{ index: 0, message: { role: 'assistant', content: `Here it is: ${text(req)}` }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    }, opts),
  );
}

/** A final 4xx whose message, code and param all carry the reflected text. */
export function openaiError(status: number, text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) =>
    json(req, status, { error: { message: `Bad key: ${text(req)}`, type: 'invalid_request_error', code: text(req), param: text(req) } }, opts),
  );
}

export function openaiStream(text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) => {
    const model = modelOf(req, 'gpt-4o');
    const chunk = (delta: unknown, finish: string | null) =>
      sseData({ id: 'chatcmpl-echo', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] });
    const usage = sseData({ id: 'chatcmpl-echo', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } });
    return splitStream(
      req,
      [chunk({ role: 'assistant', content: '' }, null)],
      (t) => chunk({ content: `Here it is: ${t}` }, null),
      [chunk({}, 'stop'), usage, sseData('[DONE]')],
      text(req),
      opts,
    );
  });
}

export function embeddings(text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) =>
    json(req, 200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: text(req), usage: { prompt_tokens: 2, total_tokens: 2 } }, opts),
  );
}

let responseSeq = 0;

/** A Responses API object (create or retrieve) whose output text reflects the request. */
export function openaiResponse(text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) =>
    json(req, 200, {
      id: `resp_echo${++responseSeq}`,
      object: 'response',
      created_at: 1,
      status: 'completed',
      model: modelOf(req, 'gpt-4o'),
      output: [{ id: 'msg_echo', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `Here it is: ${text(req)}`, annotations: [] }] }],
      usage: { input_tokens: 5, output_tokens: 7, total_tokens: 12 },
    }, opts),
  );
}

// ---- Anthropic ----

export function anthropicMessage(text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) =>
    json(req, 200, {
      id: 'msg_echo',
      type: 'message',
      role: 'assistant',
      model: modelOf(req, 'claude-haiku-4-5'),
      content: [{ type: 'text', text: `Here it is: ${text(req)}` }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 7 },
    }, opts),
  );
}

export function anthropicError(status: number, text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) => json(req, status, { type: 'error', error: { type: 'invalid_request_error', message: `Bad key: ${text(req)}` } }, opts));
}

export function anthropicStream(text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) => {
    const model = modelOf(req, 'claude-haiku-4-5');
    const start = { id: 'msg_echo', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } };
    return splitStream(
      req,
      [sseEvent({ type: 'message_start', message: start }), sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })],
      (t) => sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `Here it is: ${t}` } }),
      [
        sseEvent({ type: 'content_block_stop', index: 0 }),
        sseEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } }),
        sseEvent({ type: 'message_stop' }),
      ],
      text(req),
      opts,
    );
  });
}

/** A stream that starts, then fails in-band with an error event whose type and message reflect the request. */
export function anthropicStreamError(text: Reflect, opts: EchoOptions = {}): Fault {
  return reply((req) => {
    const model = modelOf(req, 'claude-haiku-4-5');
    const start = { id: 'msg_echo', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } };
    return {
      status: 200,
      contentType: 'text/event-stream; charset=utf-8',
      chunks: [
        sseEvent({ type: 'message_start', message: start }),
        sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }),
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: text(req), message: `Overloaded for ${text(req)}` } })}\n\n`,
      ],
      intervalMs: 5,
      headers: headersOf(req, opts),
    };
  });
}

// ---- Any upstream: a 200 that is no answer ----

/** What a load balancer or a misconfigured upstream returns with a 200: an HTML page, labelled as JSON. */
export const HTML_PAGE = '<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Please try again</h1></body></html>';

export function htmlPage(contentType = 'application/json'): Fault {
  return reply(() => ({ status: 200, contentType, body: HTML_PAGE }));
}

/** JSON cut off in the middle. */
export function brokenJson(): Fault {
  return reply(() => ({ status: 200, contentType: 'application/json', body: '{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,"mess' }));
}
