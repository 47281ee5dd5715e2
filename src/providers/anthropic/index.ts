/** OpenAI Chat Completions ⇄ Anthropic Messages translation: pure functions, no I/O. */
export { DEFAULT_ANTHROPIC_VERSION, SAMPLING_PARAMS_REMOVED_IN, acceptsSamplingParams } from './version';
export { TranslationError } from './translation-error';
export { DEFAULT_MAX_TOKENS, toAnthropicRequest, type AnthropicRequest, type ToAnthropicOptions } from './translate-request';
export {
  finishReasonOf,
  fromAnthropicError,
  fromAnthropicMessage,
  usageOf,
  type FromAnthropicOptions,
  type OpenAIErrorBody,
  type TranslatedError,
} from './translate-response';
export { AnthropicToOpenAIStream, UpstreamStreamError, type AnthropicStreamOptions } from './translate-stream';
