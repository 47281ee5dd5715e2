/**
 * The objects of OpenAI's Responses API that a translated answer is made of: the Response envelope, its
 * output items and usage. Shared by the JSON and the streaming translation so both report the same thing.
 */
import crypto from 'node:crypto';

type Json = Record<string, unknown>;

/** OpenAI's ids are a prefix and random characters; ours say they came from the gateway. */
export function responseItemId(prefix: 'resp' | 'msg' | 'fc' | 'rs'): string {
  return `${prefix}_kw${crypto.randomBytes(12).toString('hex')}`;
}

export interface ResponseUsageCounts {
  /** input not read from the prompt cache (Anthropic's input_tokens) */
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
}

export function responsesUsage(u: ResponseUsageCounts): Json {
  const input = u.input + u.cacheRead + u.cacheWrite;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.cacheRead },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + u.output,
  };
}

export function messageItem(id: string, text: string, status: 'in_progress' | 'completed'): Json {
  return { id, type: 'message', status, role: 'assistant', content: status === 'completed' ? [outputTextPart(text)] : [] };
}

export function outputTextPart(text: string): Json {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: 'in_progress' | 'completed'): Json {
  return { id, type: 'function_call', status, call_id: callId, name, arguments: args };
}

export interface EnvelopeParts {
  id: string;
  createdAt: number;
  /** the concrete model that answered */
  model: string;
  status: 'in_progress' | 'completed' | 'incomplete';
  output: Json[];
  usage: Json | null;
  /** why an incomplete response stopped */
  incompleteReason?: 'max_output_tokens' | 'content_filter';
}

/** The Response object, echoing what the client asked for as OpenAI does. */
export function responseEnvelope(request: Json, parts: EnvelopeParts): Json {
  return {
    id: parts.id,
    object: 'response',
    created_at: parts.createdAt,
    status: parts.status,
    error: null,
    incomplete_details: parts.incompleteReason ? { reason: parts.incompleteReason } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: parts.model,
    output: parts.output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    store: request.store !== false,
    temperature: request.temperature ?? null,
    text: request.text ?? { format: { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_p: request.top_p ?? null,
    truncation: 'disabled',
    usage: parts.usage,
    metadata: request.metadata ?? {},
  };
}

/** Anthropic's stop reasons, as a Response's status. */
export function statusOfStop(stopReason: string | null | undefined): Pick<EnvelopeParts, 'status' | 'incompleteReason'> {
  if (stopReason === 'max_tokens' || stopReason === 'model_context_window_exceeded') return { status: 'incomplete', incompleteReason: 'max_output_tokens' };
  if (stopReason === 'refusal') return { status: 'incomplete', incompleteReason: 'content_filter' };
  return { status: 'completed' };
}
