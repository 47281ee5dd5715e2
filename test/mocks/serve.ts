/** Manual testing and the benchmark: `npx tsx test/mocks/serve.ts` starts every mock on a fixed port. */
import { startAnthropicMock, startOpenAIMock, startRestMock } from './index';

const PORTS = { openai: 4101, anthropic: 4102, rest: 4103 };

async function main(): Promise<void> {
  const chunkDelayMs = Number(process.env.MOCK_CHUNK_DELAY_MS ?? 0);
  const mocks = {
    openai: await startOpenAIMock({ port: PORTS.openai, chunkDelayMs }),
    anthropic: await startAnthropicMock({ port: PORTS.anthropic, chunkDelayMs }),
    rest: await startRestMock({ port: PORTS.rest }),
  };
  for (const [name, mock] of Object.entries(mocks)) console.log(`${name.padEnd(10)} ${mock.url}`);
  // Requests are recorded for tests; a long benchmark run must not grow memory without bound.
  const trim = setInterval(() => Object.values(mocks).forEach((mock) => mock.requests.splice(0)), 10_000);
  const shutdown = async () => {
    clearInterval(trim);
    await Promise.all(Object.values(mocks).map((mock) => mock.close()));
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error('mock upstreams failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
