/**
 * Performance marks the browser tests read to measure the console (first page on screen, a chart drawn). A browser
 * (or test environment) without the User Timing API just does without.
 */
export function mark(name: string, detail: Record<string, unknown>, opts: { once?: boolean } = {}): void {
  const p = globalThis.performance;
  if (typeof p?.mark !== 'function') return;
  if (opts.once && p.getEntriesByName(name).length) return;
  p.mark(name, { detail });
}
