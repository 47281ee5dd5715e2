/** OpenAI Chat Completions answers (chat.completion objects and chat.completion.chunk SSE streams). */
import type { MockReply } from './server';
import { countTokens, splitPieces, sseData, textOf, truncateReply } from './text';

interface ChatMessage {
  role: string;
  content?: unknown;
}

interface ChatTool {
  type?: string;
  function?: { name?: string };
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  tool_choice?: unknown;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string | string[];
  response_format?: { type?: string };
  /** with a cache key the mock reports half the prompt as read from the prompt cache */
  prompt_cache_key?: string;
  /** with an effort the mock reports reasoning tokens (part of completion_tokens) */
  reasoning_effort?: string;
}

/** Audio tokens the mock reports per `input_audio` content part (part of prompt_tokens). */
export const MOCK_AUDIO_TOKENS_PER_PART = 25;
export const MOCK_REASONING_TOKENS = 40;

function audioParts(req: ChatRequest): number {
  let parts = 0;
  for (const m of req.messages) if (Array.isArray(m.content)) for (const p of m.content as { type?: string }[]) if (p?.type === 'input_audio') parts += 1;
  return parts;
}

/** What the fake model decided to say, before it is shaped as JSON or as a stream. */
type Answer =
  | { kind: 'text'; text: string; finishReason: 'stop' | 'length' }
  | { kind: 'tool'; callId: string; name: string; args: string };

export const TOOL_ARGUMENTS = JSON.stringify({ location: 'Paris' });

function chosenTool(req: ChatRequest): string | null {
  if (!req.tools?.length || req.tool_choice === 'none') return null;
  const forced = req.tool_choice as { function?: { name?: string } } | undefined;
  if (forced && typeof forced === 'object' && forced.function?.name) return forced.function.name;
  return req.tools[0].function?.name ?? null;
}

function decide(req: ChatRequest, callId: string): Answer {
  const last = req.messages[req.messages.length - 1];
  const tool = last.role === 'user' ? chosenTool(req) : null;
  if (tool) return { kind: 'tool', callId, name: tool, args: TOOL_ARGUMENTS };
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
  let reply =
    last.role === 'tool'
      ? `mock-openai tool result: ${textOf(last.content)}`
      : `mock-openai reply to: ${textOf(lastUser?.content)}`;
  const format = req.response_format?.type;
  if (format === 'json_object' || format === 'json_schema') reply = JSON.stringify({ reply });
  const stops = req.stop === undefined ? [] : Array.isArray(req.stop) ? req.stop : [req.stop];
  const cut = truncateReply(reply, req.max_completion_tokens ?? req.max_tokens, stops);
  return { kind: 'text', text: cut.text, finishReason: cut.stoppedBy === 'length' ? 'length' : 'stop' };
}

function usageOf(req: ChatRequest, answer: Answer) {
  const audio_tokens = audioParts(req) * MOCK_AUDIO_TOKENS_PER_PART;
  const prompt_tokens = countTokens(req.messages.map((m) => textOf(m.content)).join('')) + audio_tokens;
  const cached_tokens = req.prompt_cache_key ? Math.floor((prompt_tokens - audio_tokens) / 2) : 0;
  const reasoning_tokens = req.reasoning_effort ? MOCK_REASONING_TOKENS : 0;
  const completion_tokens = countTokens(answer.kind === 'text' ? answer.text : answer.name + answer.args) + reasoning_tokens;
  return {
    prompt_tokens,
    completion_tokens,
    total_tokens: prompt_tokens + completion_tokens,
    prompt_tokens_details: { cached_tokens, audio_tokens },
    completion_tokens_details: {
      reasoning_tokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function completionObject(req: ChatRequest, id: string, answer: Answer): unknown {
  const message =
    answer.kind === 'text'
      ? { role: 'assistant', content: answer.text, refusal: null, annotations: [] }
      : {
          role: 'assistant',
          content: null,
          refusal: null,
          annotations: [],
          tool_calls: [{ id: answer.callId, type: 'function', function: { name: answer.name, arguments: answer.args } }],
        };
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    choices: [
      { index: 0, message, logprobs: null, finish_reason: answer.kind === 'text' ? answer.finishReason : 'tool_calls' },
    ],
    usage: usageOf(req, answer),
    service_tier: 'default',
    system_fingerprint: 'fp_mock',
  };
}

function streamChunks(req: ChatRequest, id: string, answer: Answer): string[] {
  const includeUsage = req.stream_options?.include_usage === true;
  const created = Math.floor(Date.now() / 1000);
  // With include_usage, every chunk but the last carries `usage: null`, as the real API does.
  const chunk = (delta: unknown, finishReason: string | null) =>
    sseData({
      id,
      object: 'chat.completion.chunk',
      created,
      model: req.model,
      service_tier: 'default',
      system_fingerprint: 'fp_mock',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
  const frames: string[] = [];
  if (answer.kind === 'text') {
    frames.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
    for (const piece of splitPieces(answer.text, 10)) frames.push(chunk({ content: piece }, null));
    frames.push(chunk({}, answer.finishReason));
  } else {
    const opening = { index: 0, id: answer.callId, type: 'function', function: { name: answer.name, arguments: '' } };
    frames.push(chunk({ role: 'assistant', content: null, tool_calls: [opening] }, null));
    for (const piece of splitPieces(answer.args, 4)) {
      frames.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
    }
    frames.push(chunk({}, 'tool_calls'));
  }
  if (includeUsage) {
    frames.push(
      sseData({
        id,
        object: 'chat.completion.chunk',
        created,
        model: req.model,
        service_tier: 'default',
        system_fingerprint: 'fp_mock',
        choices: [],
        usage: usageOf(req, answer),
      }),
    );
  }
  frames.push(sseData('[DONE]'));
  return frames;
}

export function chatCompletionReply(req: ChatRequest, seq: number): MockReply {
  const id = `chatcmpl-mock${seq}`;
  const answer = decide(req, `call_mock${seq}`);
  if (req.stream) {
    return { kind: 'stream', status: 200, contentType: 'text/event-stream; charset=utf-8', chunks: streamChunks(req, id, answer) };
  }
  return { kind: 'json', status: 200, body: completionObject(req, id, answer) };
}
