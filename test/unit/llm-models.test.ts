import { AppError } from '../../src/http/errors';
import type { GatewayPrincipal } from '../../src/keys/principal';
import { listModels, locateModel, resolveModel, type LlmServiceInfo, type ModelSnapshot } from '../../src/llm/models';
import { PriceTable } from '../../src/llm/pricing';

function snapshot(extraServices: LlmServiceInfo[] = []): ModelSnapshot {
  const services: LlmServiceInfo[] = [
    { slug: 'openai', protocol: 'openai', models: [] },
    { slug: 'anthropic', protocol: 'anthropic', models: [] },
    ...extraServices,
  ];
  return {
    aliases: new Map([
      ['claude-fast', { alias: 'claude-fast', targets: [{ service: 'anthropic', model: 'claude-haiku-4-5' }, { service: 'openai', model: 'gpt-5-mini' }] }],
      ['gone', { alias: 'gone', targets: [{ service: 'disabled-svc', model: 'x' }] }],
    ]),
    services: new Map(services.map((s) => [s.slug, s])),
    prices: new PriceTable([
      { model: 'gpt-4o', service: 'openai', inputPerMtok: 2.5, outputPerMtok: 10 },
      { model: 'claude-haiku-4-5', service: 'anthropic', inputPerMtok: 1, outputPerMtok: 5 },
      { model: 'llama-*', service: 'vllm', inputPerMtok: 0, outputPerMtok: 0 },
    ]),
  };
}

function principal(over: Partial<GatewayPrincipal> = {}): GatewayPrincipal {
  return {
    keyId: 'k',
    userId: 'u',
    environment: 'live',
    scopes: ['chat', 'models', 'embeddings'],
    services: null,
    models: null,
    limits: null,
    monthlyCreditsMicros: null,
    plan: { id: 'pro', monthlyCreditsMicros: null, services: null },
    ...over,
  };
}

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('locateModel', () => {
  const snap = snapshot([{ slug: 'vllm', protocol: 'openai', models: ['qwen2.5-7b'] }]);

  it.each([
    ['claude-fast', [['anthropic', 'claude-haiku-4-5'], ['openai', 'gpt-5-mini']]],
    ['anthropic/claude-haiku-4-5', [['anthropic', 'claude-haiku-4-5']]],
    ['openai/gpt-4o', [['openai', 'gpt-4o']]],
    ['claude-sonnet-4-5', [['anthropic', 'claude-sonnet-4-5']]],
    ['gpt-4.1', [['openai', 'gpt-4.1']]],
    ['o3-mini', [['openai', 'o3-mini']]],
    ['o1', [['openai', 'o1']]],
    ['text-embedding-3-small', [['openai', 'text-embedding-3-small']]],
    ['qwen2.5-7b', [['vllm', 'qwen2.5-7b']]],
    ['llama-3.1-8b', [['vllm', 'llama-3.1-8b']]],
    ['vllm/meta-llama/Llama-3-8B', [['vllm', 'meta-llama/Llama-3-8B']]],
  ])('%s', (name, expected) => {
    expect(locateModel(snap, name).targets.map((t) => [t.service, t.model])).toEqual(expected);
  });

  it.each(['mistral-large', 'o2-mini', 'nope/gpt-4o', 'openai/'])('unknown %s → 404 model_not_found', (name) => {
    const err = errorOf(() => locateModel(snap, name));
    expect(err.status).toBe(404);
    expect(err.code).toBe('model_not_found');
    expect(err.param).toBe('model');
  });

  it('a prefix row for a service that is not enabled does not claim the name', () => {
    expect(errorOf(() => locateModel(snapshot(), 'llama-3.1-8b')).code).toBe('model_not_found');
  });
});

describe('resolveModel', () => {
  it('skips alias targets on services that are gone, and 404s when none remain', () => {
    expect(errorOf(() => resolveModel(snapshot(), principal(), 'gone')).code).toBe('model_not_found');
  });

  it('carries each target protocol', () => {
    const r = resolveModel(snapshot(), principal(), 'claude-fast');
    expect(r.alias).toBe('claude-fast');
    expect(r.targets.map((t) => t.protocol)).toEqual(['anthropic', 'openai']);
  });

  it('keeps only the protocols a surface can use and explains when none fits', () => {
    const r = resolveModel(snapshot(), principal(), 'claude-fast', { protocols: ['anthropic'] });
    expect(r.targets).toEqual([{ service: 'anthropic', model: 'claude-haiku-4-5', protocol: 'anthropic' }]);
    const err = errorOf(() => resolveModel(snapshot(), principal(), 'gpt-4o', { protocols: ['anthropic'], surfaceName: '/v1/messages' }));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/gpt-4o.*openai.*\/v1\/messages/);
  });

  it('a model allow-list forbids other models with 403', () => {
    const p = principal({ models: ['gpt-4o*'] });
    expect(resolveModel(snapshot(), p, 'gpt-4o-mini').targets[0].model).toBe('gpt-4o-mini');
    const err = errorOf(() => resolveModel(snapshot(), p, 'claude-haiku-4-5'));
    expect(err.status).toBe(403);
    expect(err.code).toBe('forbidden');
  });

  it('allowing an alias allows its targets; allowing one target keeps only that one', () => {
    expect(resolveModel(snapshot(), principal({ models: ['claude-fast'] }), 'claude-fast').targets).toHaveLength(2);
    const onlyOpenAI = resolveModel(snapshot(), principal({ models: ['openai/gpt-5-mini'] }), 'claude-fast');
    expect(onlyOpenAI.targets.map((t) => t.service)).toEqual(['openai']);
  });

  it('a service allow-list (key or plan) drops targets, and 403s when none remain', () => {
    const keyOnlyOpenAI = principal({ services: ['openai'] });
    expect(resolveModel(snapshot(), keyOnlyOpenAI, 'claude-fast').targets.map((t) => t.service)).toEqual(['openai']);
    expect(errorOf(() => resolveModel(snapshot(), keyOnlyOpenAI, 'claude-haiku-4-5')).status).toBe(403);
    const planOnlyAnthropic = principal({ plan: { id: 'p', monthlyCreditsMicros: null, services: ['anthropic'] } });
    expect(errorOf(() => resolveModel(snapshot(), planOnlyAnthropic, 'gpt-4o')).message).toMatch(/plan/);
  });
});

describe('listModels', () => {
  it('lists aliases and priced models the key may use, owned by their first service', () => {
    const ids = listModels(snapshot(), principal()).map((m) => `${m.id}:${m.ownedBy}`);
    expect(ids).toEqual(['claude-fast:anthropic', 'claude-haiku-4-5:anthropic', 'gpt-4o:openai']);
  });

  it('filters by the allow-lists', () => {
    const ids = listModels(snapshot(), principal({ services: ['openai'] })).map((m) => `${m.id}:${m.ownedBy}`);
    expect(ids).toEqual(['claude-fast:openai', 'gpt-4o:openai']);
    expect(listModels(snapshot(), principal({ models: ['gpt-4o'] })).map((m) => m.id)).toEqual(['gpt-4o']);
  });
});
