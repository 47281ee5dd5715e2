/**
 * The benchmark's stand-in for api.openai.com: POST /v1/chat/completions answers at once with a fixed
 * chat.completion (with usage), or with `stream: true` ten chat.completion.chunk events, a usage chunk and
 * [DONE]. Pre-serialised and stateless, so its own cost is as small and as constant as it can be; it still
 * refuses a request without a bearer token, which proves the floor and Keywallet inject one.
 * Runs in its own process (forked by bench/run.ts) and reports its port over IPC.
 */
import http from 'node:http';

const MODEL = 'gpt-4o-mini';
const CREATED = 1_750_000_000;
const WORDS = ['Hello', ' from', ' the', ' benchmark', ' upstream', ',', ' fixed', ' and', ' fast', '.'];
const USAGE = { prompt_tokens: 12, completion_tokens: WORDS.length, total_tokens: 12 + WORDS.length };

const completion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: WORDS.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: USAGE,
    system_fingerprint: 'fp_bench',
  }),
);

function chunk(delta: object, finishReason: string | null, usage: object | null = null): string {
  const choices = usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finishReason }];
  const body = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: CREATED, model: MODEL, system_fingerprint: 'fp_bench', choices, usage };
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** Each event is its own write, as a real upstream flushes tokens one by one. */
const streamEvents: Buffer[] = [
  chunk({ role: 'assistant', content: '' }, null),
  ...WORDS.map((word) => chunk({ content: word }, null)),
  chunk({}, 'stop'),
  chunk({}, null, USAGE),
  'data: [DONE]\n\n',
].map((text) => Buffer.from(text));

const notFound = Buffer.from(JSON.stringify({ error: { message: 'Invalid URL', type: 'invalid_request_error', param: null, code: null } }));
const noKey = Buffer.from(JSON.stringify({ error: { message: 'No API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));

function sendJson(res: http.ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, 'x-request-id': 'req_bench' });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return sendJson(res, 404, notFound);
    if (!req.headers.authorization?.startsWith('Bearer ')) return sendJson(res, 401, noKey);
    // A substring test instead of JSON.parse keeps the upstream's cost flat; the bench controls the bodies.
    if (!/"stream"\s*:\s*true/.test(Buffer.concat(parts).toString('latin1'))) return sendJson(res, 200, completion);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': 'req_bench' });
    for (const event of streamEvents) res.write(event);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
});

// The orchestrator's IPC channel closing means it is gone: never outlive it.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
