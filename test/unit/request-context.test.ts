import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';
import type { AppContext } from '../../src/http/context';
import { newRequestId, requestContext } from '../../src/http/request-context';

function capture(level: string) {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  return { logger: createLogger(level, sink as never), lines };
}

async function run(mw: ReturnType<typeof requestContext>, path: string, status: number, requestId = '') {
  const headers: Record<string, string> = {};
  const setHeader = (k: string, v: string) => (headers[k] = v);
  const ctx = { get: () => requestId, set: setHeader, res: { setHeader }, state: {}, method: 'POST', path, status } as unknown as AppContext;
  await mw(ctx as never, async () => {});
  await new Promise((r) => setImmediate(r));
  return headers;
}

describe('requestContext', () => {
  it('logs gateway successes at debug (the usage event is their record), errors and management calls at info', async () => {
    const info = capture('info');
    const mw = requestContext(info.logger);
    await run(mw, '/v1/chat/completions', 200);
    await run(mw, '/proxy/stripe/v1/charges', 201);
    expect(info.lines).toHaveLength(0);
    await run(mw, '/v1/chat/completions', 429);
    await run(mw, '/users', 200);
    expect(info.lines.map((l) => [JSON.parse(l).path, JSON.parse(l).status])).toEqual([['/v1/chat/completions', 429], ['/users', 200]]);
    const debug = capture('debug');
    await run(requestContext(debug.logger), '/v1/chat/completions', 200);
    expect(JSON.parse(debug.lines[0])).toMatchObject({ msg: 'request', level: 20, status: 200 });
  });

  it('echoes a sane client id, otherwise issues distinct random ids', async () => {
    const mw = requestContext(capture('info').logger);
    expect((await run(mw, '/health', 200, 'abc-1'))['x-request-id']).toBe('abc-1');
    expect((await run(mw, '/health', 200, 'bad id'))['x-request-id']).toMatch(/^req_[A-Za-z0-9_-]{16}$/);
    const ids = new Set(Array.from({ length: 5000 }, () => newRequestId()));
    expect(ids.size).toBe(5000);
  });
});
