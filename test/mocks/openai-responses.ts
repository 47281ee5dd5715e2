/**
 * OpenAI's Responses API, as the mock upstream speaks it: create (JSON and the real SSE event sequence),
 * retrieve, delete and input_items. Responses are stored per API key, as the real API stores them per
 * project: a follow-up (`previous_response_id`) sent with another key gets the real API's 400, which is
 * how tests prove that a stateful call went back to the wallet entry that created the response.
 */
import type { MockReply } from './server';
import { countTokens, splitPieces, textOf } from './text';
import type { RecordedRequest } from './types';

type Item = Record<string, unknown>;

interface Stored {
  credential: string | null;
  response: Record<string, unknown>;
  /** the input items of this turn, ids included */
  input: Item[];
}

function error(status: number, message: string, param: string | null = null, code: string | null = null): MockReply {
  return { kind: 'json', status, body: { error: { message, type: 'invalid_request_error', param, code } } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function inputItems(input: unknown): Item[] | null {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  if (!Array.isArray(input) || !input.every(isObject)) return null;
  return input.map((item) => ({ type: 'message', ...item }));
}

function itemText(item: Item): string {
  if (item.type === 'function_call_output') return textOf(item.output);
  if (item.type === 'function_call') return `${item.name}${item.arguments}`;
  return textOf(item.content);
}

export class OpenAIResponsesMock {
  private readonly stored = new Map<string, Stored>();
  private seq = 0;

  handle(req: RecordedRequest): MockReply | null {
    if (req.path === '/v1/responses' && req.method === 'POST') return this.create(req);
    const match = /^\/v1\/responses\/([^/]+)(\/input_items)?$/.exec(req.path);
    if (!match) return null;
    const found = this.stored.get(match[1]);
    if (!found || found.credential !== req.credential) return error(404, `Response with id '${match[1]}' not found.`, null, null);
    if (match[2] && req.method === 'GET') {
      const data = [...found.input].reverse();
      return { kind: 'json', status: 200, body: { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false } };
    }
    if (req.method === 'GET') return { kind: 'json', status: 200, body: found.response };
    if (req.method === 'DELETE') {
      this.stored.delete(match[1]);
      return { kind: 'json', status: 200, body: { id: match[1], object: 'response', deleted: true } };
    }
    return null;
  }

  private create(req: RecordedRequest): MockReply {
    const body = req.body;
    if (!isObject(body)) return error(400, 'We could not parse the JSON body of your request.');
    if (typeof body.model !== 'string') return error(400, "Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
    const items = inputItems(body.input);
    if (!items) return error(400, "Invalid type for 'input': expected a string or an array of input items.", 'input', 'invalid_type');
    let history: Item[] = [];
    if (body.previous_response_id !== undefined) {
      const previous = this.stored.get(String(body.previous_response_id));
      if (!previous || previous.credential !== req.credential) {
        return error(400, `Previous response with id '${String(body.previous_response_id)}' not found.`, 'previous_response_id', 'previous_response_not_found');
      }
      history = [...previous.input, ...(previous.response.output as Item[])];
    }
    this.seq += 1;
    const id = `resp_mock${this.seq}`;
    const input = items.map((item, i) => ({ id: `msg_in${this.seq}_${i}`, ...item }));
    const output = this.decide(body, input, this.seq);
    const outputText = output.map(itemText).join('');
    const inputTokens = countTokens([body.instructions, ...[...history, ...input].map(itemText)].filter(Boolean).join(''));
    const outputTokens = countTokens(outputText);
    const response: Record<string, unknown> = {
      id,
      object: 'response',
      created_at: 1_765_000_000 + this.seq,
      status: 'completed',
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      model: body.model,
      output,
      parallel_tool_calls: true,
      previous_response_id: body.previous_response_id ?? null,
      store: body.store !== false,
      temperature: 1,
      text: { format: { type: 'text' } },
      tool_choice: body.tool_choice ?? 'auto',
      tools: body.tools ?? [],
      top_p: 1,
      usage: {
        input_tokens: inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: inputTokens + outputTokens,
      },
      metadata: {},
    };
    if (body.store !== false) this.stored.set(id, { credential: req.credential, response, input });
    if (body.stream === true) return { kind: 'stream', status: 200, contentType: 'text/event-stream; charset=utf-8', chunks: streamOf(response) };
    return { kind: 'json', status: 200, body: response };
  }

  /** A function call when tools are offered and no tool output came back yet; text otherwise. */
  private decide(body: Record<string, unknown>, input: Item[], seq: number): Item[] {
    const toolOutput = [...input].reverse().find((item) => item.type === 'function_call_output');
    const tools = Array.isArray(body.tools) ? body.tools.filter(isObject) : [];
    if (!toolOutput && tools.length > 0 && body.tool_choice !== 'none') {
      const name = String(tools[0].name);
      return [{ id: `fc_mock${seq}`, type: 'function_call', status: 'completed', call_id: `call_mock${seq}`, name, arguments: '{"location":"Paris"}' }];
    }
    const lastUser = [...input].reverse().find((item) => item.role === 'user');
    const text = toolOutput ? `mock-openai tool result: ${itemText(toolOutput)}` : `mock-openai responses reply to: ${lastUser ? itemText(lastUser) : ''}`;
    return [
      {
        id: `msg_mock${seq}`,
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
      },
    ];
  }
}

function frame(sequence: { n: number }, payload: Record<string, unknown>): string {
  const data = { ...payload, sequence_number: sequence.n++ };
  return `event: ${String(payload.type)}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The real event sequence: created, in_progress, per item added → deltas → done, completed. */
function streamOf(response: Record<string, unknown>): string[] {
  const seq = { n: 0 };
  const pending = { ...response, status: 'in_progress', output: [], usage: null };
  const out = [frame(seq, { type: 'response.created', response: pending }), frame(seq, { type: 'response.in_progress', response: pending })];
  (response.output as Item[]).forEach((item, output_index) => {
    if (item.type === 'function_call') {
      out.push(frame(seq, { type: 'response.output_item.added', output_index, item: { ...item, arguments: '', status: 'in_progress' } }));
      for (const delta of splitPieces(String(item.arguments), 3)) {
        out.push(frame(seq, { type: 'response.function_call_arguments.delta', item_id: item.id, output_index, delta }));
      }
      out.push(frame(seq, { type: 'response.function_call_arguments.done', item_id: item.id, output_index, arguments: item.arguments }));
    } else {
      const text = String((item.content as Item[])[0].text);
      out.push(frame(seq, { type: 'response.output_item.added', output_index, item: { ...item, status: 'in_progress', content: [] } }));
      const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
      out.push(frame(seq, { type: 'response.content_part.added', item_id: item.id, output_index, content_index: 0, part }));
      for (const delta of splitPieces(text, 5)) {
        out.push(frame(seq, { type: 'response.output_text.delta', item_id: item.id, output_index, content_index: 0, delta, logprobs: [] }));
      }
      out.push(frame(seq, { type: 'response.output_text.done', item_id: item.id, output_index, content_index: 0, text, logprobs: [] }));
      out.push(frame(seq, { type: 'response.content_part.done', item_id: item.id, output_index, content_index: 0, part: { ...part, text } }));
    }
    out.push(frame(seq, { type: 'response.output_item.done', output_index, item }));
  });
  out.push(frame(seq, { type: 'response.completed', response }));
  return out;
}
