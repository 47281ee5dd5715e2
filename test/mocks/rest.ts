/** A generic REST upstream (stands in for Stripe, OpenWeather, Google Maps…): it echoes what it received. */
import { STATUS_CODES } from 'node:http';
import { startMockServer, type MockProtocol, type MockReply } from './server';
import type { MockOptions, MockUpstream, RecordedRequest } from './types';

export const REST_STREAM_PIECES = ['piece-1\n', 'piece-2\n', 'piece-3\n', 'piece-4\n', 'piece-5\n'];
const STREAM_INTERVAL_MS = 20;

function handle(req: RecordedRequest): MockReply {
  if (req.method === 'GET' && req.path === '/stream') {
    // No content-length: node sends the pieces with chunked transfer encoding, one piece per write.
    return { kind: 'stream', status: 200, contentType: 'text/plain; charset=utf-8', chunks: REST_STREAM_PIECES, intervalMs: STREAM_INTERVAL_MS };
  }
  const { method, path, query, headers, body } = req;
  return { kind: 'json', status: 200, body: { method, path, query, headers, body } };
}

function createRestProtocol(): MockProtocol {
  let requestSeq = 0;
  return {
    handle,
    errorBody: (status) => ({ error: { status, message: STATUS_CODES[status] ?? 'Error' } }),
    baseHeaders: () => ({ 'x-request-id': `rest_mock${++requestSeq}` }),
  };
}

export function startRestMock(opts: MockOptions = {}): Promise<MockUpstream> {
  return startMockServer(createRestProtocol(), opts);
}
