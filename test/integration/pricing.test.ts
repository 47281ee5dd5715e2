import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { MOCK_AUDIO_TOKENS_PER_PART, MOCK_CACHE_READ_TOKENS, MOCK_CACHE_WRITE_TOKENS, MOCK_REASONING_TOKENS } from '../mocks';
import { importPrices, readPriceFile, priceImportSchema } from '../../src/services/price-import';
import { parseInput } from '../../src/http/validate';

/** Rates for one model, each part priced apart (USD per million tokens == micro-USD per token). */
const RATES = {
  inputPerMTok: 2,
  outputPerMTok: 8,
  cachedInputPerMTok: 0.5,
  cacheWritePerMTok: 2.5,
  reasoningPerMTok: 12,
  audioInputPerMTok: 40,
  audioOutputPerMTok: 80,
  perRequest: 0.001,
};

describe(`money right to the cached token (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let openai: OpenAI;
  let anthropic: Anthropic;
  const admin = (p: string, method: string, body?: unknown) => env.gw.request(p, { method, token: env.adminToken, body });

  beforeAll(async () => {
    env = await startLlmEnv();
    openai = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: env.gw.url, apiKey: env.key, maxRetries: 0 });
    expect((await admin('/models/prices/gpt-4o', 'PUT', { service: 'openai', ...RATES })).status).toBe(200);
    expect((await admin('/models/prices/claude-haiku-4-5', 'PUT', { service: 'anthropic', ...RATES })).status).toBe(200);
  });
  afterAll(() => env.close());

  /** The expected cost, worked out here from what the provider reported, independently of the gateway's code. */
  function expected(u: { prompt: number; completion: number; cached?: number; cacheWrite?: number; audioIn?: number; reasoning?: number }): number {
    const plainIn = u.prompt - (u.cached ?? 0) - (u.cacheWrite ?? 0) - (u.audioIn ?? 0);
    const plainOut = u.completion - (u.reasoning ?? 0);
    return Math.round(
      plainIn * RATES.inputPerMTok +
        (u.cached ?? 0) * RATES.cachedInputPerMTok +
        (u.cacheWrite ?? 0) * RATES.cacheWritePerMTok +
        (u.audioIn ?? 0) * RATES.audioInputPerMTok +
        plainOut * RATES.outputPerMTok +
        (u.reasoning ?? 0) * RATES.reasoningPerMTok +
        RATES.perRequest * 1e6,
    );
  }

  it('prices OpenAI cached, reasoning and audio tokens each at their own rate, to the micro-dollar, and records the price version', async () => {
    const { data, response } = await openai.chat.completions
      .create({
        model: 'gpt-4o',
        prompt_cache_key: 'conversation-1',
        reasoning_effort: 'low',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Listen to this and think about it' }, { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }] }],
      })
      .withResponse();
    const u = data.usage!;
    expect(u.prompt_tokens_details!.audio_tokens).toBe(MOCK_AUDIO_TOKENS_PER_PART);
    expect(u.completion_tokens_details!.reasoning_tokens).toBe(MOCK_REASONING_TOKENS);
    const cost = expected({ prompt: u.prompt_tokens, completion: u.completion_tokens, cached: u.prompt_tokens_details!.cached_tokens!, audioIn: MOCK_AUDIO_TOKENS_PER_PART, reasoning: MOCK_REASONING_TOKENS });
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(u.prompt_tokens_details!.cached_tokens).toBeGreaterThan(0);
    expect(Number(row.cost_micros)).toBe(cost);
    const version = await env.gw.deps.db('price_versions').max('id as v').first();
    expect(row.price_version).toBe(Number(version!.v));
  });

  it('prices them the same in a stream (usage from the final chunk)', async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({ model: 'gpt-4o', stream: true, prompt_cache_key: 'c2', reasoning_effort: 'high', messages: [{ role: 'user', content: 'Stream and think' }] })
      .withResponse();
    for await (const _ of stream) void _;
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row.estimated).toBe(false);
    const cached = Math.floor(row.prompt_tokens / 2);
    expect(Number(row.cost_micros)).toBe(expected({ prompt: row.prompt_tokens, completion: row.completion_tokens, cached, reasoning: MOCK_REASONING_TOKENS }));
  });

  it('prices Anthropic prompt-cache reads and writes at their rates (native JSON and translated stream)', async () => {
    const system = [{ type: 'text' as const, text: 'Long shared context', cache_control: { type: 'ephemeral' as const } }];
    const { data, response } = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(data.usage).toMatchObject({ cache_read_input_tokens: MOCK_CACHE_READ_TOKENS, cache_creation_input_tokens: MOCK_CACHE_WRITE_TOKENS });
    const prompt = data.usage.input_tokens + MOCK_CACHE_READ_TOKENS + MOCK_CACHE_WRITE_TOKENS;
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row.prompt_tokens).toBe(prompt);
    expect(Number(row.cost_micros)).toBe(expected({ prompt, completion: data.usage.output_tokens, cached: MOCK_CACHE_READ_TOKENS, cacheWrite: MOCK_CACHE_WRITE_TOKENS }));

    // the chat translation passes a cache breakpoint on a system block through; the stream's usage is priced the same way
    const { data: stream, response: streamed } = await openai.chat.completions
      .create({
        model: 'claude-haiku-4-5',
        stream: true,
        messages: [{ role: 'system', content: [{ type: 'text', text: 'Long shared context', cache_control: { type: 'ephemeral' } } as any] }, { role: 'user', content: 'Hi' }],
      })
      .withResponse();
    for await (const _ of stream) void _;
    const streamRow = await env.usageOf(streamed.headers.get('x-request-id')!);
    expect(streamRow.estimated).toBe(false);
    expect(Number(streamRow.cost_micros)).toBe(expected({ prompt: streamRow.prompt_tokens, completion: streamRow.completion_tokens, cached: MOCK_CACHE_READ_TOKENS, cacheWrite: MOCK_CACHE_WRITE_TOKENS }));
  });

  it('charges the credits what the usage event says', async () => {
    const before = await env.gw.request('/api-keys', { token: env.adminToken });
    expect(before.status).toBe(200);
    const { response } = await openai.chat.completions.create({ model: 'gpt-4o', reasoning_effort: 'low', messages: [{ role: 'user', content: 'count me' }] }).withResponse();
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    const spent = await env.gw.deps.db('usage_events').where({ user_id: row.user_id }).sum('cost_micros as s').first();
    expect(Number(spent!.s)).toBeGreaterThanOrEqual(Number(row.cost_micros));
  });

  it('imports a price file all or nothing, as one new price version, audited, applied at once', async () => {
    const versionBefore = Number((await env.gw.deps.db('price_versions').max('id as v').first())!.v);
    const bad = await admin('/models/prices/import', 'POST', { prices: [{ model: 'gpt-4o-mini', service: 'openai', inputPerMTok: 1, outputPerMTok: 2 }, { model: 'x', service: 'nope', inputPerMTok: 1, outputPerMTok: 1 }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details ?? bad.body.error.message).toBeTruthy();
    expect(Number((await env.gw.deps.db('model_prices').where({ model: 'gpt-4o-mini' }).first()).input_per_mtok)).toBe(0.15); // unchanged

    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kw-prices-')), 'prices.json');
    fs.writeFileSync(file, JSON.stringify({ prices: [{ model: 'gpt-4o-mini', service: 'openai', inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: 0.25 }, { model: 'acme-large', service: 'openai', inputPerMTok: 3, outputPerMTok: 4, perRequest: 0.01 }] }));
    // the CLI's path: read the file, validate with the API's schema, import
    const result = await importPrices(env.gw.deps as never, parseInput(priceImportSchema, readPriceFile(fs.readFileSync(file, 'utf8')), 'body'), { type: 'cli' });
    expect(result).toMatchObject({ version: versionBefore + 1, created: 1, updated: 1 });
    const listed = (await admin('/models/prices', 'GET')).body.data;
    expect(listed.find((p: { model: string }) => p.model === 'acme-large')).toMatchObject({ inputPerMTok: 3, outputPerMTok: 4, perRequest: 0.01, cachedInputPerMTok: null });
    const audit = await env.gw.deps.db('audit_log').where({ action: 'model_price.import' });
    expect(audit).toHaveLength(1);

    const { response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'new prices' }] }).withResponse();
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row.price_version).toBe(versionBefore + 1);
    expect(Number(row.cost_micros)).toBe(Math.round(row.prompt_tokens * 1 + row.completion_tokens * 2));
  });

  it('refuses a price import from a non-admin and hostile rows', async () => {
    const { token } = await env.gw.user('developer');
    const dev = await env.gw.request('/models/prices/import', { method: 'POST', token, body: { prices: [{ model: 'm', service: 'openai', inputPerMTok: 1, outputPerMTok: 1 }] } });
    expect(dev.status).toBe(403);
    for (const prices of [[], [{ model: 'bad model', service: 'openai', inputPerMTok: 1, outputPerMTok: 1 }], [{ model: 'm', service: 'openai', inputPerMTok: -1, outputPerMTok: 1 }], [{ model: 'm', service: 'openai', inputPerMTok: 1, outputPerMTok: 1, surprise: 1 }]]) {
      expect((await admin('/models/prices/import', 'POST', { prices })).status).toBe(400);
    }
  });
});
