import { costOf, PriceTable, usageCostMicros } from '../../src/llm/pricing';

const table = new PriceTable([
  { model: 'gpt-4o', service: 'openai', inputPerMtok: 2.5, outputPerMtok: 10 },
  { model: 'gpt-4o-mini', service: 'openai', inputPerMtok: 0.15, outputPerMtok: 0.6 },
  { model: 'gpt-*', service: 'openai', inputPerMtok: 5, outputPerMtok: 15 },
  { model: 'gpt-4o-*', service: 'openai', inputPerMtok: 3, outputPerMtok: 12 },
  { model: 'claude-*', service: 'anthropic', inputPerMtok: 3, outputPerMtok: 15 },
]);

describe('PriceTable', () => {
  it('prefers an exact row, then the longest prefix', () => {
    expect(table.lookup('gpt-4o')?.inputPerMtok).toBe(2.5);
    expect(table.lookup('gpt-4o-mini')?.inputPerMtok).toBe(0.15);
    expect(table.lookup('gpt-4o-2024-08-06')?.inputPerMtok).toBe(3);
    expect(table.lookup('gpt-4.1')?.inputPerMtok).toBe(5);
    expect(table.lookup('claude-opus-4-1')?.service).toBe('anthropic');
    expect(table.lookup('mistral-large')).toBeNull();
  });

  it('prices a service-qualified id by its model', () => {
    expect(table.lookup('openai/gpt-4o')?.inputPerMtok).toBe(2.5);
  });

  it('USD per million tokens is micro-USD per token', () => {
    // 1000 prompt × 2.5 + 500 completion × 10 = 7500 micro-USD = $0.0075
    expect(table.costMicros('gpt-4o', 1000, 500)).toBe(7500);
    expect(costOf({ inputPerMtok: 0.15, outputPerMtok: 0.6 }, 3, 1)).toBe(1); // 1.05 rounds to 1
    expect(table.costMicros('unpriced-model', 1000, 1000)).toBe(0);
  });

  it('bills server-side web searches per search where the table prices them, on top of the tokens', () => {
    const priced = { inputPerMtok: 1, outputPerMtok: 5, webSearchPerCall: 0.01 };
    expect(usageCostMicros(priced, { promptTokens: 100, completionTokens: 20, webSearchRequests: 3 })).toBe(100 + 100 + 30_000);
    expect(costOf(priced, 100, 20)).toBe(200);
    expect(usageCostMicros({ inputPerMtok: 1, outputPerMtok: 5, webSearchPerCall: null }, { promptTokens: 100, completionTokens: 20, webSearchRequests: 3 })).toBe(200);
  });

  it('lists exact rows and prefix rows apart', () => {
    expect(table.exactModels().map((p) => p.model).sort()).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(table.prefixRows().map((p) => p.model)).toEqual(['gpt-4o-*', 'claude-*', 'gpt-*']);
  });
});
