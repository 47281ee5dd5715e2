import type { UsageRow } from './analytics';

type Cell = string | number | boolean | null | undefined;

/**
 * RFC 4180: CRLF line ends; a field holding a comma, quote, CR or LF is quoted, quotes doubled.
 * Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe:
 * key names and emails are chosen by users, and analysts open these files in Excel (CSV injection).
 */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export const USAGE_CSV_COLUMNS = [
  'group',
  'label',
  'requests',
  'errors',
  'promptTokens',
  'completionTokens',
  'costUsd',
  'costMicros',
  'avgLatencyMs',
] as const satisfies readonly (keyof UsageRow)[];

/** The same rows as the JSON report, one CSV line each, columns named like the JSON fields. */
export function usageCsv(rows: readonly UsageRow[]): string {
  return toCsv(
    USAGE_CSV_COLUMNS,
    rows.map((r) => USAGE_CSV_COLUMNS.map((c) => r[c])),
  );
}
