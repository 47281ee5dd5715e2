import pino, { Logger, DestinationStream } from 'pino';

export type { Logger };

/**
 * Secrets never reach a log line: credential headers, secret-bearing fields and base64 image payloads are
 * censored by path, whatever the log call passes.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'secret',
  'password',
  'key',
  'token',
  '*.secret',
  '*.password',
  '*.key',
  '*.token',
  '*.apiKey',
  '*.plaintext',
  'body.messages[*].content[*].image_url.url',
  'body.messages[*].content[*].source.data',
];

/** Log lines reach stdout within this, when fewer than a buffer's worth are waiting. */
const FLUSH_INTERVAL_MS = 500;

/**
 * stdout, buffered: one write system call per few kilobytes instead of one per line (the access line of every
 * request). pino flushes the buffer synchronously when the process exits, a timer flushes it when traffic is low.
 */
function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      // still opening, or busy with a write: the next tick flushes
    }
  }, FLUSH_INTERVAL_MS);
  timer.unref();
  return stream;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keywallet' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? bufferedStdout(),
  );
}
