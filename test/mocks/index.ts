/**
 * Local mock upstreams for integration tests and the benchmark: OpenAI, Anthropic and a generic REST
 * service on plain node:http, speaking the real wire formats, with faults programmable per credential.
 */
export type { CustomReply, Fault, FaultOptions, MockOptions, MockUpstream, RecordedRequest } from './types';
export * as echo from './echo';
export { startOpenAIMock, OPENAI_MODELS, EMBEDDING_DIMENSIONS } from './openai';
export { TOOL_ARGUMENTS, MOCK_AUDIO_TOKENS_PER_PART, MOCK_REASONING_TOKENS } from './openai-chat';
export { MOCK_CACHE_READ_TOKENS, MOCK_CACHE_WRITE_TOKENS } from './anthropic-messages';
export { startAnthropicMock, ANTHROPIC_MODELS, SAMPLING_FREE_VERSION } from './anthropic';
export { startRestMock, REST_STREAM_PIECES } from './rest';
export { countTokens } from './text';
export { parseSse, readBody, type SseEvent } from './sse';
