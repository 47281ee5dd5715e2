import OpenAI from 'openai';
import { TEST_BACKEND } from '../helpers/backend';
import { createUserWithKey } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { countTokens } from '../mocks';

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  strict: false,
};

describe(`POST /v1/responses and friends, through the official openai SDK (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmEnv();
    client = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
  });
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  describe('to an OpenAI entry, as is', () => {
    it('creates a response, forwarding the body with the wallet secret and billing its usage', async () => {
      const { data, response } = await client.responses.create({ model: 'gpt-4o', input: 'Hello there', instructions: 'Be brief.' }).withResponse();
      expect(data.output_text).toBe('mock-openai responses reply to: Hello there');
      expect(data.id).toMatch(/^resp_mock/);
      const upstream = env.openai.requests[0];
      expect(upstream.path).toBe('/v1/responses');
      expect(upstream.credential).toBe(env.secrets.openai);
      expect(upstream.body).toEqual({ model: 'gpt-4o', input: 'Hello there', instructions: 'Be brief.' });
      expect(response.headers.get('x-keywallet-provider-key')).toBe(env.entryIds.openai);
      const row = await env.usageOf(response.headers.get('x-request-id')!);
      expect(row).toMatchObject({ surface: 'responses', service: 'openai', model: 'gpt-4o', status: 200, estimated: false });
      expect(row.prompt_tokens).toBe(data.usage!.input_tokens);
      expect(row.completion_tokens).toBe(data.usage!.output_tokens);
      expect(Number(row.cost_micros)).toBeGreaterThan(0);
    });

    it('streams the real event sequence through, billed from response.completed', async () => {
      const { data: stream, response } = await client.responses.create({ model: 'gpt-4o', input: 'Stream please', stream: true }).withResponse();
      const types: string[] = [];
      let final: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.completed') final = event.response;
      }
      expect(types[0]).toBe('response.created');
      expect(types).toContain('response.output_text.delta');
      expect(types.at(-1)).toBe('response.completed');
      expect((final!.output[0] as any).content[0].text).toBe('mock-openai responses reply to: Stream please');
      const row = await env.usageOf(response.headers.get('x-request-id')!);
      expect(row).toMatchObject({ surface: 'responses', stream: true, estimated: false, prompt_tokens: final!.usage!.input_tokens, completion_tokens: final!.usage!.output_tokens });
      // the streamed response is stored with the entry that created it
      expect((await client.responses.retrieve(final!.id)).id).toBe(final!.id);
    });

    it('runs a function tool round trip with previous_response_id', async () => {
      const first = await client.responses.create({ model: 'gpt-4o', input: 'Weather in Paris?', tools: [weatherTool] });
      const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
      expect(call).toMatchObject({ name: 'get_weather', arguments: '{"location":"Paris"}' });
      const second = await client.responses.create({
        model: 'gpt-4o',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21C' }],
        tools: [weatherTool],
      });
      expect(second.output_text).toBe('mock-openai tool result: sunny, 21C');
      expect(env.openai.requests[1].body.previous_response_id).toBe(first.id);
    });

    it('sends a follow-up to the entry that created the response, even when another entry now ranks first', async () => {
      const first = await client.responses.create({ model: 'gpt-4o', input: 'Remember me' });
      const preferred = await env.addEntry('openai', { priority: 1, tier: 'free' });
      try {
        // new conversations go to the preferred entry now…
        const fresh = await client.responses.create({ model: 'gpt-4o', input: 'New topic' }).withResponse();
        expect(fresh.response.headers.get('x-keywallet-provider-key')).toBe(preferred.id);
        // …but the continuation must go where the response lives (the mock answers 400 to any other key)
        const { data, response } = await client.responses.create({ model: 'gpt-4o', input: 'And now?', previous_response_id: first.id }).withResponse();
        expect(response.headers.get('x-keywallet-provider-key')).toBe(env.entryIds.openai);
        expect(data.output_text).toBe('mock-openai responses reply to: And now?');
        expect(env.openai.requests.at(-1)!.credential).toBe(env.secrets.openai);
        // and so do retrieval, input_items and deletion
        const got = await client.responses.retrieve(first.id);
        expect(got.id).toBe(first.id);
        expect(env.openai.requests.at(-1)!.credential).toBe(env.secrets.openai);
        const items = await client.responses.inputItems.list(first.id);
        expect(items.data.length).toBe(1);
        const deleted = await env.gw.request(`/v1/responses/${first.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${env.key}` } });
        expect(deleted.status).toBe(200);
        expect(deleted.body).toEqual({ id: first.id, object: 'response', deleted: true });
        const gone = await env.gw.request(`/v1/responses/${first.id}`, { headers: { authorization: `Bearer ${env.key}` } });
        expect(gone.status).toBe(404);
        expect(gone.body.error).toMatchObject({ type: 'not_found_error' });
      } finally {
        await env.gw.request(`/wallet/keys/${preferred.id}`, { method: 'DELETE', token: env.adminToken });
      }
    });

    it("does not let another user's key read or continue a response", async () => {
      const first = await client.responses.create({ model: 'gpt-4o', input: 'Private thoughts' });
      const other = await createUserWithKey(env.gw, 'developer', {}, 'enterprise');
      const auth = { authorization: `Bearer ${other.key}` };
      const read = await env.gw.request(`/v1/responses/${first.id}`, { headers: auth });
      expect(read.status).toBe(404);
      const items = await env.gw.request(`/v1/responses/${first.id}/input_items`, { headers: auth });
      expect(items.status).toBe(404);
      const del = await env.gw.request(`/v1/responses/${first.id}`, { method: 'DELETE', headers: auth });
      expect(del.status).toBe(404);
      const calls = env.openai.requests.length;
      const cont = await env.gw.request('/v1/responses', { method: 'POST', headers: auth, body: { model: 'gpt-4o', input: 'hi', previous_response_id: first.id } });
      expect(cont.status).toBe(400);
      expect(cont.body.error).toMatchObject({ param: 'previous_response_id' });
      expect(env.openai.requests.length).toBe(calls); // nothing reached the upstream
      // the owner still has it
      expect((await client.responses.retrieve(first.id)).id).toBe(first.id);
    });

    it('refuses a store: false response as previous_response_id (nothing was stored)', async () => {
      const first = await client.responses.create({ model: 'gpt-4o', input: 'Forget me', store: false });
      const res = await env.gw.request('/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${env.key}` }, body: { model: 'gpt-4o', input: 'x', previous_response_id: first.id } });
      expect(res.status).toBe(400);
    });
  });

  describe('to Anthropic, translated', () => {
    it('answers a claude alias with a Response object and bills the Anthropic usage', async () => {
      const { data, response } = await client.responses.create({ model: 'claude-fast', input: 'Hi Claude', instructions: 'Be kind.', max_output_tokens: 300 }).withResponse();
      expect(data.object).toBe('response');
      expect(data.status).toBe('completed');
      expect(data.output_text).toBe('mock-anthropic reply to: Hi Claude');
      expect(data.model).toBe('claude-haiku-4-5');
      const upstream = env.anthropic.requests[0];
      expect(upstream.path).toBe('/v1/messages');
      expect(upstream.body).toMatchObject({ model: 'claude-haiku-4-5', max_tokens: 300, system: 'Be kind.', messages: [{ role: 'user', content: 'Hi Claude' }] });
      expect(data.usage).toMatchObject({ input_tokens: countTokens('Be kind.Hi Claude'), output_tokens: countTokens('mock-anthropic reply to: Hi Claude') });
      const row = await env.usageOf(response.headers.get('x-request-id')!);
      expect(row).toMatchObject({ surface: 'responses', service: 'anthropic', prompt_tokens: data.usage!.input_tokens, completion_tokens: data.usage!.output_tokens, estimated: false });
      // GET returns the same object, from the gateway's store (Anthropic keeps no state)
      const got = await client.responses.retrieve(data.id);
      expect(got).toEqual(data);
      expect(env.anthropic.requests).toHaveLength(1);
    });

    it('streams the Responses event sequence translated from Anthropic events', async () => {
      const stream = client.responses.stream({ model: 'claude-fast', input: 'Stream to me' });
      const types: string[] = [];
      let text = '';
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') text += event.delta;
      }
      const final = await stream.finalResponse();
      expect(text).toBe('mock-anthropic reply to: Stream to me');
      expect(final.output_text).toBe(text);
      expect(types).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        ...types.filter((t) => t === 'response.output_text.delta'),
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      expect(final.usage).toMatchObject({ input_tokens: countTokens('Stream to me'), output_tokens: countTokens(text) });
      // the stored response is the completed one
      const got = await client.responses.retrieve(final.id);
      expect(got.status).toBe('completed');
      expect(got.output_text).toBe(text);
    });

    it('runs a function tool round trip, continuing the stored conversation with previous_response_id', async () => {
      const first = await client.responses.create({ model: 'claude-fast', input: 'Weather in Paris?', tools: [weatherTool] });
      const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
      expect(call).toMatchObject({ type: 'function_call', name: 'get_weather' });
      expect(JSON.parse(call.arguments)).toEqual({ location: 'Paris' });
      expect(env.anthropic.requests[0].body.tools).toEqual([{ name: 'get_weather', description: 'Weather in a city', input_schema: weatherTool.parameters }]);

      const stream = client.responses.stream({
        model: 'claude-fast',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21C' }],
        tools: [weatherTool],
      });
      const second = await stream.finalResponse();
      expect(second.output_text).toBe('mock-anthropic tool result: sunny, 21C');
      expect(second.previous_response_id).toBe(first.id);
      // the gateway sent the whole conversation: user turn, the tool call, its result
      const messages = env.anthropic.requests[1].body.messages;
      expect(messages[0]).toMatchObject({ role: 'user', content: 'Weather in Paris?' });
      expect(messages[1]).toMatchObject({ role: 'assistant', content: [{ type: 'tool_use', id: call.call_id, name: 'get_weather', input: { location: 'Paris' } }] });
      expect(messages[2]).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.call_id }] });
      const items = await client.responses.inputItems.list(second.id);
      expect(items.data.map((i) => i.type)).toEqual(['function_call_output', 'function_call', 'message']);
    });

    it('refuses what Anthropic cannot do, before any upstream call, with the parameter named', async () => {
      const res = await env.gw.request('/v1/responses', {
        method: 'POST',
        headers: { authorization: `Bearer ${env.key}` },
        body: { model: 'anthropic/claude-haiku-4-5', input: 'search the web', tools: [{ type: 'web_search' }] },
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'tools[0]' });
      expect(env.anthropic.requests).toHaveLength(0);
    });

    it('keeps a conversation with the provider that holds it', async () => {
      const first = await client.responses.create({ model: 'claude-fast', input: 'Hi' });
      const res = await env.gw.request('/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${env.key}` }, body: { model: 'gpt-4o', input: 'x', previous_response_id: first.id } });
      expect(res.status).toBe(400);
      expect(res.body.error.param).toBe('previous_response_id');
      expect(env.openai.requests).toHaveLength(0);
    });
  });

  describe('POST /v1/messages/count_tokens', () => {
    it('counts through an alias on the Anthropic entry, forwarding the version, billing nothing', async () => {
      const res = await fetch(`${env.gw.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'x-api-key': env.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-fast', messages: [{ role: 'user', content: 'How many tokens is this?' }] }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ input_tokens: countTokens('How many tokens is this?') });
      const upstream = env.anthropic.requests[0];
      expect(upstream.path).toBe('/v1/messages/count_tokens');
      expect(upstream.body).toMatchObject({ model: 'claude-haiku-4-5' });
      expect(upstream.headers['anthropic-version']).toBe('2023-06-01');
      expect(upstream.credential).toBe(env.secrets.anthropic);
      const row = await env.usageOf(res.headers.get('x-request-id')!);
      expect(row).toMatchObject({ surface: 'count_tokens', service: 'anthropic', status: 200 });
      expect(Number(row.cost_micros)).toBe(0);
    });

    it('answers an OpenAI-only model in Anthropic\'s error shape', async () => {
      const res = await fetch(`${env.gw.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'x-api-key': env.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(env.anthropic.requests).toHaveLength(0);
    });
  });

  it('needs a gateway key', async () => {
    const res = await fetch(`${env.gw.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', input: 'x' }) });
    expect(res.status).toBe(401);
    const get = await fetch(`${env.gw.url}/v1/responses/resp_x`);
    expect(get.status).toBe(401);
  });
});
