import type { BudgetUsageSample } from './types';

/** The thresholds (percent) a sample has reached: spent ≥ threshold % of the budget, in exact integer arithmetic. */
export function thresholdsReached(sample: Pick<BudgetUsageSample, 'spentMicros' | 'budgetMicros'>, thresholds: readonly number[]): number[] {
  const { spentMicros, budgetMicros } = sample;
  if (!(budgetMicros > 0) || !(spentMicros > 0)) return [];
  return thresholds.filter((t) => spentMicros * 100 >= t * budgetMicros);
}

/** Percent of the budget spent, one decimal. */
export const percentOf = (spentMicros: number, budgetMicros: number): number => Math.round((spentMicros * 1000) / budgetMicros) / 10;

/** Parses "50,80,100": distinct integers 1–1000, ascending. Throws a message naming the problem. */
export function parseThresholds(text: string): number[] {
  const values = text.split(',').map((v) => v.trim()).filter(Boolean);
  if (values.length === 0) throw new Error('give at least one threshold, e.g. 50,80,100');
  const out = values.map((v) => {
    if (!/^\d{1,4}$/.test(v) || Number(v) < 1 || Number(v) > 1000) throw new Error(`"${v}" is not a percentage between 1 and 1000`);
    return Number(v);
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

/** A wallet entry quota's period as a readable label: '2026-12' (month), '2026-12-07' (day), '2026-12-07T10' (hour). */
export function quotaPeriodLabel(period: 'minute' | 'hour' | 'day' | 'month', startMs: number): string {
  const iso = new Date(startMs).toISOString();
  if (period === 'month') return iso.slice(0, 7);
  if (period === 'day') return iso.slice(0, 10);
  if (period === 'hour') return iso.slice(0, 13);
  return iso.slice(0, 16);
}
