/**
 * An OpenAI Responses request → the equivalent Chat Completions request, for providers that only speak chat
 * (Anthropic, through the existing chat → Messages translation). Instructions become the system message,
 * input items become messages (function calls and their outputs become tool calls and tool messages), and
 * function tools lose their extra level of nesting. Anything with no chat counterpart is refused with 400.
 */
import { isRecord, TranslationError } from '../anthropic/translation-error';

type Json = Record<string, unknown>;

/** Built-in tools (web_search, file_search, computer_use…) run on OpenAI's side; nothing else can run them. */
function toolOf(tool: unknown, i: number): Json {
  if (!isRecord(tool) || tool.type !== 'function' || typeof tool.name !== 'string' || tool.name === '') {
    throw new TranslationError(`tools[${i}]`, 'only function tools ({ type: "function", name, parameters }) can be translated for this model');
  }
  const fn: Json = { name: tool.name };
  if (typeof tool.description === 'string') fn.description = tool.description;
  if (tool.parameters !== undefined && tool.parameters !== null) fn.parameters = tool.parameters;
  return { type: 'function', function: fn };
}

function toolChoiceOf(choice: unknown): unknown {
  if (choice === undefined || choice === null || typeof choice === 'string') return choice;
  if (isRecord(choice) && choice.type === 'function' && typeof choice.name === 'string') return { type: 'function', function: { name: choice.name } };
  throw new TranslationError('tool_choice', 'tool_choice must be "auto", "none", "required" or { type: "function", name }');
}

function responseFormatOf(text: unknown): unknown {
  if (!isRecord(text) || !isRecord(text.format)) return undefined;
  const format = text.format;
  if (format.type === 'json_schema') {
    return { type: 'json_schema', json_schema: { name: format.name, description: format.description, schema: format.schema, strict: format.strict } };
  }
  return { type: format.type };
}

/** A content part of an input message → a chat content part. */
function partOf(part: unknown, param: string): Json {
  if (typeof part === 'string') return { type: 'text', text: part };
  if (!isRecord(part)) throw new TranslationError(param, 'a content part must be an object');
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      return { type: 'text', text: typeof part.text === 'string' ? part.text : '' };
    case 'refusal':
      return { type: 'text', text: typeof part.refusal === 'string' ? part.refusal : '' };
    case 'input_image': {
      if (typeof part.image_url !== 'string') throw new TranslationError(param, 'input_image needs an image_url (a URL or a data: URL); file ids cannot be translated');
      const image: Json = { url: part.image_url };
      if (typeof part.detail === 'string') image.detail = part.detail;
      return { type: 'image_url', image_url: image };
    }
    default:
      throw new TranslationError(param, `content parts of type '${String(part.type)}' cannot be translated for this model`);
  }
}

function contentOf(content: unknown, param: string): string | Json[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new TranslationError(param, 'content must be a string or an array of content parts');
  return content.map((part, i) => partOf(part, `${param}[${i}]`));
}

function textOnly(content: string | Json[]): string {
  return typeof content === 'string' ? content : content.map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
}

/** Input items → chat messages; consecutive assistant text and function calls form one assistant message. */
export function messagesOf(input: unknown, instructions: unknown): Json[] {
  const messages: Json[] = [];
  if (typeof instructions === 'string' && instructions !== '') messages.push({ role: 'system', content: instructions });
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input });
    return messages;
  }
  if (!Array.isArray(input)) throw new TranslationError('input', 'input must be a string or an array of input items');
  let assistant: Json | null = null;
  input.forEach((item: unknown, i) => {
    const param = `input[${i}]`;
    if (!isRecord(item)) throw new TranslationError(param, 'an input item must be an object');
    const type = item.type ?? 'message';
    if (type === 'function_call') {
      if (typeof item.call_id !== 'string' || typeof item.name !== 'string') throw new TranslationError(param, 'a function_call needs call_id and name');
      assistant ??= pushed(messages, { role: 'assistant', content: null });
      const calls = (assistant.tool_calls as Json[] | undefined) ?? (assistant.tool_calls = []);
      calls.push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '{}' } });
      return;
    }
    if (type === 'reasoning') return; // the model's own reasoning summary: nothing the chat protocol can carry back
    if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw new TranslationError(param, 'a function_call_output needs a call_id');
      const output = typeof item.output === 'string' ? item.output : textOnly(contentOf(item.output ?? '', `${param}.output`));
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: output });
      assistant = null;
      return;
    }
    if (type !== 'message') throw new TranslationError(param, `input items of type '${String(type)}' cannot be translated for this model`);
    const role = item.role === 'developer' ? 'system' : item.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') throw new TranslationError(`${param}.role`, 'role must be user, assistant, system or developer');
    const content = contentOf(item.content, `${param}.content`);
    if (role === 'assistant') {
      // text after tool calls starts a new turn; text before them shares the turn
      if (assistant && !assistant.tool_calls && assistant.content !== null) {
        assistant.content = `${String(assistant.content)}${textOnly(content)}`;
      } else {
        assistant = pushed(messages, { role: 'assistant', content: textOnly(content) });
      }
      return;
    }
    assistant = null;
    messages.push({ role, content });
  });
  return messages;
}

function pushed(messages: Json[], message: Json): Json {
  messages.push(message);
  return message;
}

const PASSED = ['temperature', 'top_p', 'parallel_tool_calls', 'user', 'safety_identifier', 'stream'] as const;

/** The chat body that asks the same as a Responses body. */
export function responsesToChat(body: Json): Json {
  if (body.background === true) throw new TranslationError('background', 'background responses cannot be translated for this model');
  const chat: Json = { model: body.model, messages: messagesOf(body.input, body.instructions) };
  for (const name of PASSED) if (body[name] !== undefined && body[name] !== null) chat[name] = body[name];
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) chat.max_tokens = body.max_output_tokens;
  if (Array.isArray(body.tools) && body.tools.length > 0) chat.tools = body.tools.map(toolOf);
  const choice = toolChoiceOf(body.tool_choice);
  if (choice !== undefined && choice !== null && chat.tools) chat.tool_choice = choice;
  const format = responseFormatOf(body.text);
  if (format) chat.response_format = format;
  return chat;
}
