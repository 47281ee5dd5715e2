import type { z } from 'zod';
import type { AuditActor } from '../audit/audit';
import type { Deps } from '../deps';
import { AppError } from '../http/errors';
import { parseDotenv, serviceFromName } from './dotenv';
import { createEntrySchema, importBodySchema, MAX_IMPORT_ENTRIES } from './schemas';
import type { ServiceRegistry } from '../services/registry';

export interface ImportResult {
  index: number;
  ok: boolean;
  id?: string;
  service?: string;
  /** the dotenv variable name or the given label */
  label?: string;
  /** dotenv line number */
  line?: number;
  error?: { code: string; message: string };
}

export interface ImportSummary {
  results: ImportResult[];
  created: number;
  failed: number;
}

interface Candidate {
  body: unknown;
  label?: string;
  line?: number;
  problem?: string;
}

function fromDotenv(text: string, services: ServiceRegistry, teamId?: string): Candidate[] {
  return parseDotenv(text).map((item): Candidate => {
    if (item.problem || item.value === undefined) return { body: null, label: item.name, line: item.line, problem: item.problem ?? `line ${item.line} has no value` };
    const body: Record<string, unknown> = { secret: item.value, label: item.name, ...(teamId ? { teamId } : {}) };
    // A key format that fits several services is settled by the variable name when it names exactly one of them.
    const detected = services.detect(item.value.trim());
    if (!detected.ok && detected.reason === 'ambiguous') {
      const hinted = serviceFromName(item.name!, detected.candidates);
      if (hinted) body.service = hinted;
    }
    return { body, label: item.name, line: item.line };
  });
}

/** Zod's issues as one line, by path; values are never quoted. */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'entry'}: ${i.message}`).join('; ');
}

/**
 * Creates each entry in its own transaction, so one bad entry spoils none of the others. Results keep the
 * input order; a secret (a dotenv value especially) is never part of a result.
 */
export async function importEntries(
  deps: Pick<Deps, 'wallet' | 'services' | 'logger'>,
  body: z.output<typeof importBodySchema>,
  actor: AuditActor,
): Promise<ImportSummary> {
  const { wallet, services, logger } = deps;
  const candidates: Candidate[] = Array.isArray(body)
    ? body.map((item) => ({ body: item }))
    : typeof body === 'string'
      ? fromDotenv(body, services)
      : fromDotenv(body.dotenv, services, body.teamId);
  if (candidates.length > MAX_IMPORT_ENTRIES) {
    throw new AppError('payload_too_large', `At most ${MAX_IMPORT_ENTRIES} entries per import`);
  }
  if (candidates.length === 0) throw new AppError('invalid_request', 'Nothing to import');

  const results: ImportResult[] = [];
  for (const [index, candidate] of candidates.entries()) {
    const base: ImportResult = { index, ok: false, ...(candidate.line ? { line: candidate.line } : {}) };
    if (candidate.problem) {
      results.push({ ...base, label: candidate.label, error: { code: 'invalid_request', message: candidate.problem } });
      continue;
    }
    const parsed = createEntrySchema.safeParse(candidate.body);
    if (!parsed.success) {
      results.push({ ...base, label: candidate.label, error: { code: 'invalid_request', message: describeIssues(parsed.error) } });
      continue;
    }
    try {
      const entry = await wallet.create(parsed.data, actor);
      results.push({ ...base, ok: true, id: entry.id, service: entry.service, label: entry.label });
    } catch (err) {
      if (!(err instanceof AppError)) logger.error({ err, index }, 'wallet import: an entry could not be stored');
      const error = err instanceof AppError ? { code: err.code, message: err.message } : { code: 'internal_error', message: 'The entry could not be stored' };
      results.push({ ...base, label: parsed.data.label, error });
    }
  }
  const created = results.filter((r) => r.ok).length;
  return { results, created, failed: results.length - created };
}
