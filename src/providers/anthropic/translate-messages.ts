/**
 * OpenAI chat `messages` → Anthropic `system` + alternating user/assistant turns.
 * Input is the client's JSON, so every field is checked before use and a bad one names its path.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { isRecord, TranslationError } from './translation-error';

type Block = Anthropic.ContentBlockParam;
type ImageMediaType = Anthropic.Base64ImageSource['media_type'];

interface Turn {
  role: 'user' | 'assistant';
  blocks: Block[];
}

export interface TranslatedMessages {
  /** One block per system or developer message, in order; a cache breakpoint on any part stays. */
  system: Anthropic.TextBlockParam[];
  messages: Anthropic.MessageParam[];
}

const IMAGE_MEDIA_TYPES: Record<string, ImageMediaType> = {
  'image/jpeg': 'image/jpeg',
  'image/jpg': 'image/jpeg',
  'image/png': 'image/png',
  'image/gif': 'image/gif',
  'image/webp': 'image/webp',
};

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s;

export function translateMessages(input: unknown): TranslatedMessages {
  if (!Array.isArray(input) || input.length === 0) {
    throw new TranslationError('messages', 'messages must be a non-empty array');
  }
  const system: Anthropic.TextBlockParam[] = [];
  const turns: Turn[] = [];
  input.forEach((message: unknown, i) => {
    const param = `messages[${i}]`;
    if (!isRecord(message)) throw new TranslationError(param, `${param} must be an object`);
    const role = message.role;
    if (role === 'system' || role === 'developer') {
      system.push(...textBlock(textOnly(message.content, `${param}.content`), `${param}.content`, cacheControlIn(message.content)));
    } else if (role === 'user') {
      addTurn(turns, 'user', userBlocks(message.content, `${param}.content`));
    } else if (role === 'assistant') {
      addTurn(turns, 'assistant', assistantBlocks(message, param));
    } else if (role === 'tool') {
      addTurn(turns, 'user', [toolResult(message, param)]);
    } else if (role === 'function') {
      throw new TranslationError(`${param}.role`, 'the deprecated "function" role is not supported; use tools and "tool" messages');
    } else {
      throw new TranslationError(`${param}.role`, `unknown message role ${JSON.stringify(role)}`);
    }
  });
  if (turns.length === 0) {
    throw new TranslationError('messages', 'at least one user or assistant message with content is required');
  }
  return { system, messages: turns.map(toMessageParam) };
}

/** Anthropic wants strict alternation, so a turn of the same role as the last one joins it. */
function addTurn(turns: Turn[], role: Turn['role'], blocks: Block[]): void {
  if (blocks.length === 0) return;
  const last = turns[turns.length - 1];
  if (last && last.role === role) last.blocks.push(...blocks);
  else turns.push({ role, blocks });
}

function toMessageParam(turn: Turn): Anthropic.MessageParam {
  // Anthropic rejects a user turn whose tool_result blocks do not come first.
  const blocks =
    turn.role === 'user'
      ? [...turn.blocks.filter((b) => b.type === 'tool_result'), ...turn.blocks.filter((b) => b.type !== 'tool_result')]
      : turn.blocks;
  const only = blocks[0];
  if (blocks.length === 1 && only.type === 'text' && !only.cache_control) {
    return { role: turn.role, content: only.text };
  }
  return { role: turn.role, content: blocks };
}

function textOnly(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new TranslationError(param, `${param} must be a string or an array of text parts`);
  return content
    .map((part: unknown, j) => {
      if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') {
        throw new TranslationError(`${param}[${j}]`, 'only text parts are allowed here');
      }
      return part.text;
    })
    .join('\n');
}

function cacheControlIn(content: unknown): unknown {
  return Array.isArray(content) ? content.find((part: unknown) => isRecord(part) && part.cache_control)?.cache_control : undefined;
}

function textBlock(text: unknown, param: string, cacheControl?: unknown): Anthropic.TextBlockParam[] {
  if (typeof text !== 'string') throw new TranslationError(param, `${param} must be a string`);
  // Anthropic answers 400 to a text block that is empty or only whitespace; it carries nothing anyway.
  if (text.trim() === '') return [];
  const block: Anthropic.TextBlockParam = { type: 'text', text };
  const cache = cacheControlOf(cacheControl);
  if (cache) block.cache_control = cache;
  return [block];
}

/** Cline, Roo and OpenRouter users mark prompt-cache breakpoints on OpenAI text parts this way. */
function cacheControlOf(value: unknown): Anthropic.CacheControlEphemeral | undefined {
  if (!isRecord(value) || value.type !== 'ephemeral') return undefined;
  return value.ttl === '5m' || value.ttl === '1h' ? { type: 'ephemeral', ttl: value.ttl } : { type: 'ephemeral' };
}

function userBlocks(content: unknown, param: string): Block[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return textBlock(content, param);
  if (!Array.isArray(content)) throw new TranslationError(param, `${param} must be a string or an array of content parts`);
  return content.flatMap((part: unknown, j) => userPart(part, `${param}[${j}]`));
}

function userPart(part: unknown, param: string): Block[] {
  if (!isRecord(part)) throw new TranslationError(param, `${param} must be an object`);
  switch (part.type) {
    case 'text':
      return textBlock(part.text, `${param}.text`, part.cache_control);
    case 'image_url':
      return [imageBlock(part.image_url, `${param}.image_url`)];
    case 'file':
      return [pdfBlock(part.file, `${param}.file`)];
    case 'input_audio':
      throw new TranslationError(`${param}.type`, 'audio input is not supported by Anthropic models');
    default:
      throw new TranslationError(`${param}.type`, `unsupported content part type ${JSON.stringify(part.type)}`);
  }
}

function imageBlock(imageUrl: unknown, param: string): Anthropic.ImageBlockParam {
  // Some older OpenAI-compatible clients send the URL itself instead of `{ url }`.
  const url = typeof imageUrl === 'string' ? imageUrl : isRecord(imageUrl) ? imageUrl.url : undefined;
  if (typeof url !== 'string') throw new TranslationError(`${param}.url`, 'image_url.url must be a string');
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  const data = parseDataUrl(url, `${param}.url`);
  const mediaType = IMAGE_MEDIA_TYPES[data.mediaType];
  if (!mediaType) {
    throw new TranslationError(`${param}.url`, `image type ${JSON.stringify(data.mediaType)} is not supported; use JPEG, PNG, GIF or WebP`);
  }
  return { type: 'image', source: { type: 'base64', media_type: mediaType, data: data.base64 } };
}

function pdfBlock(file: unknown, param: string): Anthropic.DocumentBlockParam {
  const fileData = isRecord(file) ? file.file_data : undefined;
  if (typeof fileData !== 'string') {
    throw new TranslationError(param, 'only inline files (file.file_data as a data: URL) can be sent to Anthropic models');
  }
  const data = parseDataUrl(fileData, `${param}.file_data`);
  if (data.mediaType !== 'application/pdf') {
    throw new TranslationError(`${param}.file_data`, 'only PDF files are supported for Anthropic models');
  }
  return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data.base64 } };
}

function parseDataUrl(url: string, param: string): { mediaType: string; base64: string } {
  const match = DATA_URL.exec(url);
  if (!match) throw new TranslationError(param, 'expected an http(s) URL or a base64 data: URL');
  const [, mediaType, params, payload] = match;
  if (!params.toLowerCase().split(';').includes('base64') || payload.length === 0) {
    throw new TranslationError(param, 'data: URLs must be base64-encoded and non-empty');
  }
  return { mediaType: mediaType.toLowerCase(), base64: payload };
}

function assistantBlocks(message: Record<string, unknown>, param: string): Block[] {
  if (message.function_call !== undefined && message.function_call !== null) {
    throw new TranslationError(`${param}.function_call`, 'the deprecated function_call is not supported; use tool_calls');
  }
  const blocks = assistantContent(message.content, `${param}.content`);
  const toolCalls = message.tool_calls;
  if (toolCalls === undefined || toolCalls === null) return blocks;
  if (!Array.isArray(toolCalls)) throw new TranslationError(`${param}.tool_calls`, 'tool_calls must be an array');
  toolCalls.forEach((call: unknown, j) => blocks.push(toolUse(call, `${param}.tool_calls[${j}]`)));
  return blocks;
}

function assistantContent(content: unknown, param: string): Block[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return textBlock(content, param);
  if (!Array.isArray(content)) throw new TranslationError(param, `${param} must be a string, an array of parts or null`);
  return content.flatMap((part: unknown, j) => {
    const partParam = `${param}[${j}]`;
    if (isRecord(part) && part.type === 'text') return textBlock(part.text, `${partParam}.text`, part.cache_control);
    if (isRecord(part) && part.type === 'refusal') return textBlock(part.refusal, `${partParam}.refusal`);
    throw new TranslationError(partParam, 'assistant content parts must be text or refusal');
  });
}

function toolUse(call: unknown, param: string): Anthropic.ToolUseBlockParam {
  if (!isRecord(call) || !isRecord(call.function)) {
    throw new TranslationError(param, 'tool calls must be objects with a function');
  }
  if (call.type !== undefined && call.type !== 'function') {
    throw new TranslationError(`${param}.type`, 'only function tool calls are supported for Anthropic models');
  }
  const { id } = call;
  const { name, arguments: args } = call.function;
  if (typeof id !== 'string' || id === '') throw new TranslationError(`${param}.id`, 'tool call id must be a non-empty string');
  if (typeof name !== 'string' || name === '') {
    throw new TranslationError(`${param}.function.name`, 'function name must be a non-empty string');
  }
  if (args !== undefined && args !== null && typeof args !== 'string') {
    throw new TranslationError(`${param}.function.arguments`, 'function arguments must be a JSON string');
  }
  return { type: 'tool_use', id, name, input: parseArguments(args ?? '', `${param}.function.arguments`) };
}

function parseArguments(args: string, param: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new TranslationError(param, 'function arguments are not valid JSON');
  }
  if (!isRecord(parsed)) throw new TranslationError(param, 'function arguments must be a JSON object');
  return parsed;
}

function toolResult(message: Record<string, unknown>, param: string): Anthropic.ToolResultBlockParam {
  const id = message.tool_call_id;
  if (typeof id !== 'string' || id === '') {
    throw new TranslationError(`${param}.tool_call_id`, 'tool messages need a tool_call_id');
  }
  const block: Anthropic.ToolResultBlockParam = { type: 'tool_result', tool_use_id: id };
  const content = message.content;
  if (typeof content === 'string') {
    if (content !== '') block.content = content;
  } else if (Array.isArray(content)) {
    const texts = content.flatMap((part: unknown, j) => {
      const partParam = `${param}.content[${j}]`;
      if (!isRecord(part) || part.type !== 'text') throw new TranslationError(partParam, 'tool message parts must be text');
      return textBlock(part.text, `${partParam}.text`);
    });
    if (texts.length > 0) block.content = texts;
  } else if (content !== null && content !== undefined) {
    throw new TranslationError(`${param}.content`, 'tool message content must be a string or an array of text parts');
  }
  return block;
}
