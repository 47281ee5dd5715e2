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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keywallet' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
