/**
 * Local mock upstreams for integration tests and the benchmark: OpenAI, Anthropic and a generic REST
 * service on plain node:http, speaking the real wire formats, with faults programmable per credential.
 */
export type { CustomReply, Fault, FaultOptions, MockOptions, MockUpstream, RecordedRequest } from './types';
export * as echo from './echo';
export { startOpenAIMock, OPENAI_MODELS, EMBEDDING_DIMENSIONS } from './openai';
export { TOOL_ARGUMENTS } from './openai-chat';
export { startAnthropicMock, ANTHROPIC_MODELS, SAMPLING_FREE_VERSION } from './anthropic';
export { startRestMock, REST_STREAM_PIECES } from './rest';
export { countTokens } from './text';
export { parseSse, readBody, type SseEvent } from './sse';
