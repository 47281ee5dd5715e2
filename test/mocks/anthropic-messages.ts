/** Anthropic Messages answers: Message objects and the named-event SSE stream. */
import type { MockReply } from './server';
import { countTokens, splitPieces, sseEvent, textOf, truncateReply } from './text';

interface ContentBlock {
  type?: string;
  text?: string;
  content?: unknown;
}

interface AnthropicMessage {
  role: string;
  content: string | ContentBlock[];
}

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string | ContentBlock[];
  tools?: { name?: string; type?: string; max_uses?: number }[];
  tool_choice?: { type?: string; name?: string };
  stop_sequences?: string[];
  stream?: boolean;
}

type Answer =
  | { kind: 'text'; text: string; stopReason: 'end_turn' | 'max_tokens' | 'stop_sequence'; stopSequence: string | null }
  | { kind: 'tool'; id: string; name: string; input: { location: string } };

function toolResultOf(message: AnthropicMessage | undefined): ContentBlock | undefined {
  if (!message || !Array.isArray(message.content)) return undefined;
  return message.content.find((block) => block?.type === 'tool_result');
}

function chosenTool(req: MessagesRequest): string | null {
  // server tools (web search) run on the provider's side: the answer is text
  const tools = (req.tools ?? []).filter((t) => !t.type?.startsWith('web_search'));
  if (!tools.length || req.tool_choice?.type === 'none') return null;
  if (req.tool_choice?.type === 'tool' && req.tool_choice.name) return req.tool_choice.name;
  return tools[0].name ?? null;
}

function decide(req: MessagesRequest, toolUseId: string): Answer {
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
  const toolResult = toolResultOf(lastUser);
  const tool = toolResult ? null : chosenTool(req);
  if (tool) return { kind: 'tool', id: toolUseId, name: tool, input: { location: 'Paris' } };
  const reply = toolResult
    ? `mock-anthropic tool result: ${textOf(toolResult.content)}`
    : `mock-anthropic reply to: ${textOf(lastUser?.content)}`;
  const cut = truncateReply(reply, req.max_tokens, req.stop_sequences ?? []);
  const stopReason = cut.stoppedBy === 'length' ? 'max_tokens' : cut.stoppedBy === 'stop_sequence' ? 'stop_sequence' : 'end_turn';
  return { kind: 'text', text: cut.text, stopReason, stopSequence: cut.stopSequence };
}

export function inputTokensOf(req: Pick<MessagesRequest, 'messages' | 'system'>): number {
  return countTokens(textOf(req.system) + req.messages.map((m) => textOf(m.content)).join(''));
}

function outputTokensOf(answer: Answer): number {
  return countTokens(answer.kind === 'text' ? answer.text : answer.name + JSON.stringify(answer.input));
}

/** A system block marked with cache_control: the mock reports a cache write and a cache read of these sizes. */
export const MOCK_CACHE_WRITE_TOKENS = 50;
export const MOCK_CACHE_READ_TOKENS = 100;

function cacheMarked(req: Pick<MessagesRequest, 'system'>): boolean {
  return Array.isArray(req.system) && req.system.some((b) => (b as { cache_control?: unknown }).cache_control !== undefined);
}

/** A server-side web search tool in the request "runs" max_uses searches (1 without a bound), as usage reports them. */
function webSearchesOf(req: Pick<MessagesRequest, 'tools'>): number {
  return (req.tools ?? []).filter((t) => t.type?.startsWith('web_search')).reduce((n, t) => n + (t.max_uses ?? 1), 0);
}

function usage(inputTokens: number, outputTokens: number, cached = false, webSearches = 0) {
  const base = {
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    cache_creation_input_tokens: cached ? MOCK_CACHE_WRITE_TOKENS : 0,
    cache_read_input_tokens: cached ? MOCK_CACHE_READ_TOKENS : 0,
  };
  return webSearches > 0 ? { ...base, server_tool_use: { web_search_requests: webSearches } } : base;
}

function stopOf(answer: Answer): { stop_reason: string; stop_sequence: string | null } {
  return answer.kind === 'text'
    ? { stop_reason: answer.stopReason, stop_sequence: answer.stopSequence }
    : { stop_reason: 'tool_use', stop_sequence: null };
}

function messageObject(req: MessagesRequest, id: string, answer: Answer): unknown {
  const content =
    answer.kind === 'text'
      ? [{ type: 'text', text: answer.text }]
      : [{ type: 'tool_use', id: answer.id, name: answer.name, input: answer.input }];
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: req.model,
    content,
    ...stopOf(answer),
    usage: usage(inputTokensOf(req), outputTokensOf(answer), cacheMarked(req), webSearchesOf(req)),
  };
}

function streamEvents(req: MessagesRequest, id: string, answer: Answer): string[] {
  const events: string[] = [];
  const message = { id, type: 'message', role: 'assistant', model: req.model, content: [], stop_reason: null, stop_sequence: null };
  events.push(sseEvent({ type: 'message_start', message: { ...message, usage: usage(inputTokensOf(req), 1, cacheMarked(req)) } }));
  if (answer.kind === 'text') {
    events.push(sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
    events.push(sseEvent({ type: 'ping' }));
    for (const text of splitPieces(answer.text, 10)) {
      events.push(sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }));
    }
  } else {
    const block = { type: 'tool_use', id: answer.id, name: answer.name, input: {} };
    events.push(sseEvent({ type: 'content_block_start', index: 0, content_block: block }));
    events.push(sseEvent({ type: 'ping' }));
    for (const partial_json of splitPieces(JSON.stringify(answer.input), 4)) {
      events.push(sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json } }));
    }
  }
  events.push(sseEvent({ type: 'content_block_stop', index: 0 }));
  const searches = webSearchesOf(req);
  const finalUsage = { output_tokens: outputTokensOf(answer), ...(searches ? { server_tool_use: { web_search_requests: searches } } : {}) };
  events.push(sseEvent({ type: 'message_delta', delta: stopOf(answer), usage: finalUsage }));
  events.push(sseEvent({ type: 'message_stop' }));
  return events;
}

export function messagesReply(req: MessagesRequest, seq: number): MockReply {
  const id = `msg_mock${seq}`;
  const answer = decide(req, `toolu_mock${seq}`);
  if (req.stream) {
    return { kind: 'stream', status: 200, contentType: 'text/event-stream; charset=utf-8', chunks: streamEvents(req, id, answer) };
  }
  return { kind: 'json', status: 200, body: messageObject(req, id, answer) };
}
