/**
 * Money, numbers and dates are formatted here and nowhere else.
 * Money: the API stores integer micro-dollars (1 credit = $1 = 1,000,000 µ$); shown in dollars with up to
 * six decimals (never fewer than two), so no stored precision is hidden.
 */
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6 });
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function formatMicroDollars(micro: number | null | undefined): string {
  if (micro === null || micro === undefined) return '—';
  return usd.format(micro / 1_000_000);
}

const usdAxis = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 4 });
const usdAxisCompact = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 1 });

/** A chart's axis tick in dollars: short (the legend and tables keep the full precision). */
export function formatMicroDollarsAxis(micro: number): string {
  const usd = micro / 1_000_000;
  return Math.abs(usd) >= 10_000 ? usdAxisCompact.format(usd) : usdAxis.format(usd);
}

/** Dollars typed by a person (e.g. "12.5") → integer micro-dollars, or null when it is not a number. */
export function parseDollarsToMicro(text: string): number | null {
  const t = text.trim().replace(/^\$/, '');
  if (!/^-?\d+(\.\d{1,6})?$/.test(t)) return null;
  const [whole, frac = ''] = t.replace('-', '').split('.');
  const micro = Number(whole) * 1_000_000 + Number(frac.padEnd(6, '0'));
  return t.startsWith('-') ? -micro : micro;
}

/** Credits (whole dollars as the API takes them in some bodies) → micro-dollars for display. */
export const dollarsToMicro = (dollars: number) => Math.round(dollars * 1_000_000);

export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : integer.format(n);
}

export function formatTokens(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n >= 10_000 ? compact.format(n) : integer.format(n);
}

const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A date in the user's time zone; `utc` is the exact instant for the hover title. */
export function formatDate(value: string | number | Date | null | undefined): { text: string; utc: string } {
  if (value === null || value === undefined || value === '') return { text: '—', utc: '' };
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return { text: String(value), utc: '' };
  return { text: local.format(d), utc: d.toISOString() };
}
