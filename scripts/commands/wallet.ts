import fs from 'node:fs';
import type { Command } from 'commander';
import type { Knex } from 'knex';
import type { WithDeps } from '../cli';
import { importEntries } from '../../src/wallet/import';
import { importBodySchema } from '../../src/wallet/schemas';
import { presentEntry } from '../../src/wallet/presenter';
import { rewrapWallet } from '../../src/wallet/rewrap';
import { parseInput } from '../../src/http/validate';

const CLI_ACTOR = { type: 'cli' as const };

/** A JSON array (or {"entries": [...]}) when the file is JSON, dotenv text otherwise. */
export function readImportFile(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      return Array.isArray(parsed) ? parsed : (parsed as { entries?: unknown }).entries ?? parsed;
    } catch {
      throw new Error('the file looks like JSON but does not parse');
    }
  }
  return text;
}

async function teamIdOf(deps: { db: Knex }, slug: string): Promise<string> {
  const team = await deps.db('teams').where({ slug: slug.toLowerCase() }).first('id');
  if (!team) throw new Error(`no team ${slug}`);
  return team.id as string;
}

/** `--team`: dotenv text becomes {dotenv, teamId}; JSON entries without a teamId of their own get it. */
export function withTeam(body: unknown, teamId: string | undefined): unknown {
  if (!teamId) return body;
  if (typeof body === 'string') return { dotenv: body, teamId };
  if (Array.isArray(body)) {
    return body.map((e) => (e && typeof e === 'object' && !('teamId' in e) ? { ...(e as object), teamId } : e));
  }
  return body;
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

/** `wallet import FILE`, `wallet list`, `wallet rewrap`: the same service functions as /wallet. */
export function registerWalletCommands(program: Command, withDeps: WithDeps): void {
  const wallet = program.command('wallet').description('manage provider keys in the encrypted wallet');

  wallet
    .command('import <file>')
    .description('import provider keys from a JSON array of entries or a dotenv file (NAME=value per line)')
    .option('--team <slug>', "into this team's own pool (JSON entries that name a teamId keep theirs)")
    .action((file: string, opts: { team?: string }) =>
      withDeps(async (deps) => {
        const teamId = opts.team ? await teamIdOf(deps, opts.team) : undefined;
        const body = parseInput(importBodySchema, withTeam(readImportFile(fs.readFileSync(file, 'utf8')), teamId), 'body');
        const summary = await importEntries(deps, body, CLI_ACTOR);
        const rows = [['#', 'RESULT', 'SERVICE', 'LABEL', 'ID / ERROR']];
        for (const r of summary.results) {
          const where = r.line ? `${r.index} (line ${r.line})` : String(r.index);
          rows.push([where, r.ok ? 'ok' : 'failed', r.service ?? '', r.label ?? '', r.ok ? r.id! : `${r.error!.code}: ${r.error!.message}`]);
        }
        process.stdout.write(formatTable(rows));
        process.stdout.write(`${summary.created} created, ${summary.failed} failed\n`);
        if (summary.failed > 0) process.exitCode = 1;
      }),
    );

  wallet
    .command('list')
    .description('list provider keys (masked)')
    .option('--service <slug>')
    .option('--status <status>', 'active | disabled | invalid')
    .option('--team <slug>', "only this team's own pool")
    .action((opts: { service?: string; status?: 'active' | 'disabled' | 'invalid'; team?: string }) =>
      withDeps(async (deps) => {
        const teamId = opts.team ? await teamIdOf(deps, opts.team) : undefined;
        const entries = (await deps.wallet.listFiltered({ service: opts.service, status: opts.status, teamId })).map((e) => presentEntry(e));
        const slugs = new Map<string, string>(
          (await deps.db('teams').select('id', 'slug')).map((t: { id: string; slug: string }) => [t.id, t.slug]),
        );
        const rows = [['ID', 'SERVICE', 'LABEL', 'TIER', 'PRIO', 'WEIGHT', 'ENV', 'STATUS', 'KEY', 'V', 'TEAM']];
        for (const e of entries) {
          const status = e.statusReason ? `${e.status} (${e.statusReason})` : e.status;
          const team = e.teamId ? slugs.get(e.teamId) ?? e.teamId : '(shared)';
          rows.push([e.id, e.service, e.label, e.tier, String(e.priority), String(e.weight), e.environment, status, e.secretHint, String(e.keyVersion), team]);
        }
        process.stdout.write(formatTable(rows));
      }),
    );

  wallet
    .command('team <entryId> <team>')
    .description("move a provider key into a team's own pool (the team's slug), or back to the shared pool ('shared')")
    .action((entryId: string, team: string) =>
      withDeps(async (deps) => {
        const teamId = team === 'shared' ? null : await teamIdOf(deps, team);
        const entry = presentEntry(await deps.wallet.update(entryId, { teamId }, CLI_ACTOR));
        process.stdout.write(`${entry.id} ${entry.label}: ${teamId ? `team ${team.toLowerCase()}'s own pool` : 'shared pool'}\n`);
      }),
    );

  wallet
    .command('rewrap')
    .description('re-seal every provider key under the current master-key version (idempotent, in batches)')
    .option('--batch-size <n>', 'entries per transaction', '100')
    .action((opts: { batchSize: string }) =>
      withDeps(async (deps) => {
        const batchSize = Number(opts.batchSize);
        if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw new Error('--batch-size must be a whole number from 1 to 1000');
        const result = await rewrapWallet(deps, { batchSize, actor: CLI_ACTOR });
        process.stdout.write(`key version ${result.keyVersion}: ${result.rewrapped} rewrapped in ${result.batches} batch(es), ${result.failed} failed; webhook secrets: ${result.webhooks.rewrapped} rewrapped, ${result.webhooks.failed} failed\n`);
        for (const id of result.failedIds) process.stdout.write(`  could not open ${id}\n`);
        if (result.failed > 0 || result.webhooks.failed > 0) process.exitCode = 1;
      }),
    );
}
