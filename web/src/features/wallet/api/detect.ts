import type { ServiceSummary } from './wallet';

/**
 * A preview of the service the gateway will detect for a pasted secret, from the services' key patterns.
 * Only a hint: the API detects for real when the entry is added (and says so when it cannot).
 */
export function previewService(secret: string, services: ServiceSummary[]): string | null {
  const s = secret.trim();
  if (s.length < 8) return null;
  for (const service of services) {
    if (!service.keyPattern) continue;
    try {
      if (new RegExp(service.keyPattern).test(s)) return service.slug;
    } catch {
      /* a pattern this browser cannot compile: no preview for it */
    }
  }
  return null;
}

export interface ImportPreviewRow {
  label: string;
  service: string;
  /** masked: the last four characters only */
  hint: string;
  problem?: string;
}

const mask = (secret: unknown) => (typeof secret === 'string' && secret.length >= 4 ? `…${secret.slice(-4)}` : '—');

/** What an import will send, parsed in the browser for the preview (the API parses again and decides). */
export function parseImport(text: string, services: ServiceSummary[]): { body: unknown[] | { dotenv: string }; rows: ImportPreviewRow[] } | { error: string } {
  const trimmed = text.trim();
  if (!trimmed) return { error: 'Paste a JSON array or dotenv lines, or choose a file.' };
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      return { error: `Not valid JSON: ${(err as Error).message}` };
    }
    if (!Array.isArray(parsed)) return { error: 'The JSON must be an array of entries.' };
    const rows = parsed.map((item, i) => {
      const e = (item ?? {}) as Record<string, unknown>;
      const secret = typeof e.secret === 'string' ? e.secret : '';
      return {
        label: typeof e.label === 'string' ? e.label : `entry ${i + 1}`,
        service: typeof e.service === 'string' ? e.service : previewService(secret, services) ?? '(to be detected)',
        hint: mask(secret),
        problem: secret ? undefined : 'no secret',
      };
    });
    return { body: parsed, rows };
  }
  const rows: ImportPreviewRow[] = [];
  for (const line of trimmed.split(/\r?\n/)) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(l);
    if (!m) {
      rows.push({ label: l.slice(0, 40), service: '—', hint: '—', problem: 'not NAME=value' });
      continue;
    }
    const value = m[2].replace(/^(['"])(.*)\1$/, '$2');
    rows.push({ label: m[1], service: previewService(value, services) ?? '(to be detected)', hint: mask(value) });
  }
  return { body: { dotenv: trimmed }, rows };
}
