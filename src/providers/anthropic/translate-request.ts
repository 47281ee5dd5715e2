/**
 * OpenAI Chat Completions request body → Anthropic Messages request body.
 * The body is the client's JSON, validated only as far as the translation needs; Anthropic
 * validates the rest and its 400 comes back through fromAnthropicError.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { translateMessages } from './translate-messages';
import { isRecord, TranslationError } from './translation-error';
import { acceptsSamplingParams } from './version';

export { TranslationError } from './translation-error';

export interface ToAnthropicOptions {
  /** The upstream model id (after alias resolution), not the name the client sent. */
  model: string;
  /** The anthropic-version the request will be sent with; decides which sampling params survive. */
  version: string;
  /** max_tokens when the client sent none; Anthropic requires one. */
  defaultMaxTokens?: number;
}

/** The SDK types follow 2026-10-21, which has no sampling params; 2023-06-01 still takes them. */
export type AnthropicRequest = Anthropic.MessageCreateParams & { temperature?: number; top_p?: number };

type Draft = Omit<Anthropic.MessageCreateParamsNonStreaming, 'stream'> & {
  stream?: boolean;
  temperature?: number;
  top_p?: number;
};

export const DEFAULT_MAX_TOKENS = 4096;

const JSON_OBJECT_INSTRUCTION =
  'Respond only with a single valid JSON object. Do not write anything before or after it and do not wrap it in Markdown code fences.';

export function toAnthropicRequest(req: unknown, opts: ToAnthropicOptions): AnthropicRequest {
  if (!isRecord(req)) throw new TranslationError('body', 'the request body must be a JSON object');
  rejectUnsupported(req);
  const { system, messages } = translateMessages(req.messages);
  const out: Draft = { model: opts.model, max_tokens: maxTokens(req, opts.defaultMaxTokens ?? DEFAULT_MAX_TOKENS), messages };

  const instruction = responseFormatInstruction(req.response_format);
  const systemBlocks: Anthropic.TextBlockParam[] = instruction ? [...system, { type: 'text', text: instruction }] : system;
  if (systemBlocks.length > 0) {
    // A plain string unless the client marked a prompt-cache breakpoint, which only blocks can carry.
    out.system = systemBlocks.some((b) => b.cache_control) ? systemBlocks : systemBlocks.map((b) => b.text).join('\n\n');
  }

  const stopSequences = stopSequencesOf(req.stop);
  if (stopSequences.length > 0) out.stop_sequences = stopSequences;

  const tools = toolsOf(req.tools);
  if (tools.length > 0) {
    out.tools = tools;
    const toolChoice = toolChoiceOf(req.tool_choice, req.parallel_tool_calls);
    if (toolChoice) out.tool_choice = toolChoice;
  } else if (req.tool_choice === 'required' || isRecord(req.tool_choice)) {
    throw new TranslationError('tool_choice', 'tool_choice requires tools');
  }

  if (acceptsSamplingParams(opts.version)) {
    const temperature = numberParam(req, 'temperature');
    // OpenAI's range is 0–2, Anthropic's 0–1: anything above 1 means "as random as possible".
    if (temperature !== undefined) out.temperature = Math.min(1, Math.max(0, temperature));
    const topP = numberParam(req, 'top_p');
    if (topP !== undefined) out.top_p = topP;
  }

  const userId = typeof req.user === 'string' && req.user !== '' ? req.user : req.safety_identifier;
  if (typeof userId === 'string' && userId !== '') out.metadata = { user_id: userId };

  if (typeof req.stream === 'boolean') out.stream = req.stream;
  return out as AnthropicRequest;
}

function rejectUnsupported(req: Record<string, unknown>): void {
  if (req.n !== undefined && req.n !== null && req.n !== 1) {
    throw new TranslationError('n', 'only n=1 is supported for Anthropic models');
  }
  if ((req.audio !== undefined && req.audio !== null) || (Array.isArray(req.modalities) && req.modalities.includes('audio'))) {
    throw new TranslationError('modalities', 'audio output is not supported by Anthropic models');
  }
  if (req.logprobs === true) throw new TranslationError('logprobs', 'logprobs are not supported by Anthropic models');
  if (req.functions !== undefined && req.functions !== null) {
    throw new TranslationError('functions', 'the deprecated functions parameter is not supported; use tools');
  }
}

function maxTokens(req: Record<string, unknown>, fallback: number): number {
  const param = req.max_completion_tokens !== undefined && req.max_completion_tokens !== null ? 'max_completion_tokens' : 'max_tokens';
  const value = req[param];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TranslationError(param, `${param} must be a positive integer`);
  }
  return value;
}

function numberParam(req: Record<string, unknown>, param: 'temperature' | 'top_p'): number | undefined {
  const value = req[param];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TranslationError(param, `${param} must be a number`);
  return value;
}

function stopSequencesOf(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) {
    throw new TranslationError('stop', 'stop must be a string or an array of strings');
  }
  return list.filter((s) => s !== '');
}

function toolsOf(tools: unknown): Anthropic.Tool[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw new TranslationError('tools', 'tools must be an array');
  return tools.map((tool: unknown, i) => {
    const param = `tools[${i}]`;
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) {
      throw new TranslationError(param, 'only function tools ({ type: "function", function: {...} }) are supported for Anthropic models');
    }
    const { name, description, parameters } = tool.function;
    if (typeof name !== 'string' || name === '') {
      throw new TranslationError(`${param}.function.name`, 'function name must be a non-empty string');
    }
    const out: Anthropic.Tool = { name, input_schema: inputSchemaOf(parameters, `${param}.function.parameters`) };
    if (typeof description === 'string' && description !== '') out.description = description;
    return out;
  });
}

function inputSchemaOf(parameters: unknown, param: string): Anthropic.Tool.InputSchema {
  if (parameters === undefined || parameters === null) return { type: 'object', properties: {} };
  if (!isRecord(parameters)) throw new TranslationError(param, 'parameters must be a JSON Schema object');
  if (parameters.type !== undefined && parameters.type !== 'object') {
    throw new TranslationError(`${param}.type`, 'tool parameters must describe an object');
  }
  return { ...parameters, type: 'object' };
}

function toolChoiceOf(choice: unknown, parallel: unknown): Anthropic.ToolChoice | undefined {
  const disableParallel = parallel === false;
  let out: Anthropic.ToolChoice;
  if (choice === undefined || choice === null) {
    if (!disableParallel) return undefined;
    out = { type: 'auto' };
  } else if (choice === 'auto') {
    out = { type: 'auto' };
  } else if (choice === 'none') {
    return { type: 'none' };
  } else if (choice === 'required') {
    out = { type: 'any' };
  } else if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function) && typeof choice.function.name === 'string') {
    out = { type: 'tool', name: choice.function.name };
  } else {
    throw new TranslationError('tool_choice', 'tool_choice must be "auto", "none", "required" or { type: "function", function: { name } }');
  }
  if (disableParallel) out.disable_parallel_tool_use = true;
  return out;
}

/** Anthropic has no JSON mode here, so the instruction travels in the system prompt. */
function responseFormatInstruction(format: unknown): string | undefined {
  if (format === undefined || format === null) return undefined;
  if (!isRecord(format)) throw new TranslationError('response_format', 'response_format must be an object');
  if (format.type === 'text') return undefined;
  if (format.type === 'json_object') return JSON_OBJECT_INSTRUCTION;
  if (format.type === 'json_schema' && isRecord(format.json_schema) && isRecord(format.json_schema.schema)) {
    const { name, description, schema } = format.json_schema;
    const label = typeof name === 'string' && name !== '' ? ` "${name}"` : '';
    const about = typeof description === 'string' && description !== '' ? ` (${description})` : '';
    return (
      `Respond only with a single valid JSON value that conforms to the JSON Schema${label}${about} below. ` +
      'Do not write anything before or after it and do not wrap it in Markdown code fences.\n' +
      JSON.stringify(schema)
    );
  }
  throw new TranslationError('response_format', 'response_format must be text, json_object or json_schema with a schema');
}
