import OpenAI from 'openai';
import { TEST_BACKEND } from '../helpers/backend';
import { createUserWithKey } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { countTokens, EMBEDDING_DIMENSIONS } from '../mocks';
import { BUILTIN_ALIASES } from '../../seeds/builtin';

describe(`GET /v1/models and POST /v1/embeddings (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let client: OpenAI;
  const clientFor = (apiKey: string) => new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey, maxRetries: 0 });

  beforeAll(async () => {
    env = await startLlmEnv();
    client = clientFor(env.key);
  });
  afterAll(() => env.close());

  it('lists aliases and priced models in the OpenAI list format, owned by their service', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    const byId = new Map(models.map((m) => [m.id, m]));
    for (const alias of BUILTIN_ALIASES) expect(byId.get(alias.alias)).toMatchObject({ object: 'model', owned_by: 'anthropic' });
    expect(byId.get('gpt-4o')).toEqual({ id: 'gpt-4o', object: 'model', created: 0, owned_by: 'openai' });
    expect(byId.get('claude-sonnet-4-5')?.owned_by).toBe('anthropic');
    expect(byId.has('gpt-*')).toBe(false); // price prefixes are not models
  });

  it('lists only what the key may use', async () => {
    const { key } = await createUserWithKey(env.gw, 'developer', { models: ['gpt-4o*', 'claude-fast'] }, 'enterprise');
    const ids = [];
    for await (const model of clientFor(key).models.list()) ids.push(model.id);
    expect(ids.sort()).toEqual(['claude-fast', 'gpt-4o', 'gpt-4o-mini']);

    const { key: openaiOnly } = await createUserWithKey(env.gw, 'developer', { services: ['openai'] }, 'enterprise');
    const list = [];
    for await (const model of clientFor(openaiOnly).models.list()) list.push(model);
    expect(list.every((m) => m.owned_by === 'openai')).toBe(true);
    // the alias is still usable, through its OpenAI target
    expect(list.find((m) => m.id === 'claude-fast')).toMatchObject({ owned_by: 'openai' });
  });

  it('retrieves one model, 404 for one the key may not see', async () => {
    expect(await client.models.retrieve('claude-quality')).toMatchObject({ id: 'claude-quality', owned_by: 'anthropic' });
    const err = await client.models.retrieve('not-a-model').catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.error).toMatchObject({ code: 'model_not_found' });
  });

  it('needs the models scope', async () => {
    const { key } = await createUserWithKey(env.gw, 'developer', { scopes: ['chat'] }, 'enterprise');
    const err = await clientFor(key).models.list().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it('embeds through an OpenAI-protocol service and records the tokens', async () => {
    const { data, response } = await client.embeddings
      .create({ model: 'text-embedding-3-small', input: ['hello world', 'second text'] })
      .withResponse();
    expect(data.data).toHaveLength(2);
    expect(data.data[0].embedding).toHaveLength(EMBEDDING_DIMENSIONS);
    const tokens = countTokens('hello world') + countTokens('second text');
    expect(data.usage.prompt_tokens).toBe(tokens);
    expect(env.openai.requests.at(-1)!.body).toMatchObject({ model: 'text-embedding-3-small', input: ['hello world', 'second text'] });
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ surface: 'embeddings', service: 'openai', prompt_tokens: tokens, completion_tokens: 0, estimated: false });
  });

  it('refuses an Anthropic model for embeddings, and a key without the embeddings scope', async () => {
    const wrongModel = await client.embeddings.create({ model: 'claude-haiku-4-5', input: 'x' }).catch((e) => e);
    expect(wrongModel).toBeInstanceOf(OpenAI.BadRequestError);
    expect(wrongModel.error.message).toMatch(/\/v1\/embeddings/);
    const { key } = await createUserWithKey(env.gw, 'developer', { scopes: ['chat'] }, 'enterprise');
    const noScope = await clientFor(key).embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).catch((e) => e);
    expect(noScope).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });
  it('sees a new alias and a new price at once (aliases:changed)', async () => {
    const put = await env.gw.request('/models/team-default', { method: 'PUT', token: env.adminToken, body: { targets: [{ service: 'openai', model: 'gpt-4o-mini' }] } });
    expect(put.status).toBeLessThan(300);
    const price = await env.gw.request('/models/prices/gpt-4o-mini', { method: 'PUT', token: env.adminToken, body: { service: 'openai', inputPerMTok: 1000, outputPerMTok: 2000 } });
    expect(price.status).toBeLessThan(300);

    // Every node sees a change within a second (Redis pub/sub delivers asynchronously, even to this node).
    let seen: OpenAI.Model | null = null;
    for (let i = 0; i < 20 && !seen; i++) {
      seen = await client.models.retrieve('team-default').catch(() => null);
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen?.owned_by).toBe('openai');
    const { data, response } = await client.chat.completions.create({ model: 'team-default', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(env.openai.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(Number(row.cost_micros)).toBe(data.usage!.prompt_tokens * 1000 + data.usage!.completion_tokens * 2000);
  });
});
