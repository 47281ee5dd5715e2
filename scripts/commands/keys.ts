import type { Command } from 'commander';
import type { WithDeps } from '../cli';
import type { AuditActor } from '../../src/audit/audit';
import { parseInput } from '../../src/http/validate';
import { createKeySchema, rotateKeySchema } from '../../src/keys/schemas';
import { createGatewayKey, listGatewayKeys, revokeGatewayKey } from '../../src/keys/service';
import { rotateGatewayKey } from '../../src/keys/rotate';

const CLI_ACTOR: AuditActor = { type: 'cli' };
const ALL = { userId: null, all: true };

async function userIdByEmail(deps: Parameters<Parameters<WithDeps>[0]>[0], email: string): Promise<string> {
  const user = await deps.db('users').where({ email: email.trim().toLowerCase() }).first('id');
  if (!user) throw new Error(`no user ${email}`);
  return user.id as string;
}

const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

/** keys create | list | revoke | rotate — the same service functions as /api-keys. */
export function registerKeysCommands(program: Command, withDeps: WithDeps): void {
  const keys = program.command('keys').description('manage gateway keys');
  keys
    .command('create')
    .description('create a gateway key for a user; the key is printed once')
    .requiredOption('--email <email>', 'the owner')
    .requiredOption('--name <name>')
    .option('--env <environment>', 'live | test', 'live')
    .option('--scopes <list>', 'comma-separated: chat,proxy,models,embeddings', 'chat,models,embeddings')
    .option('--services <list>', 'comma-separated service slugs (default: every service)')
    .option('--models <list>', 'comma-separated model ids or prefixes* (default: every model)')
    .option('--expires <iso8601>', 'expiry, e.g. 2030-01-01T00:00:00Z')
    .action((opts: { email: string; name: string; env: string; scopes: string; services?: string; models?: string; expires?: string }) =>
      withDeps(async (deps) => {
        const userId = await userIdByEmail(deps, opts.email);
        const input = parseInput(createKeySchema, {
          name: opts.name,
          environment: opts.env,
          scopes: list(opts.scopes),
          services: opts.services ? list(opts.services) : undefined,
          models: opts.models ? list(opts.models) : undefined,
          expiresAt: opts.expires,
          userId,
        }, 'body');
        const { record, key } = await createGatewayKey(deps, ALL, input, CLI_ACTOR);
        process.stdout.write(`created ${record.environment} key ${record.id} (${record.name}) for ${opts.email}\n`);
        process.stdout.write(`${key}\n`);
        process.stderr.write('store the key now: it is not shown again\n');
      }),
    );
  keys
    .command('list')
    .description('list gateway keys (masked)')
    .option('--email <email>', 'only this user’s keys')
    .option('--status <status>', 'active | revoked | expired')
    .action((opts: { email?: string; status?: 'active' | 'revoked' | 'expired' }) =>
      withDeps(async (deps) => {
        const userId = opts.email ? await userIdByEmail(deps, opts.email) : undefined;
        const { data } = await listGatewayKeys(deps, ALL, { userId, status: opts.status, limit: 500, offset: 0 });
        const rows = data.map((k) => [k.id, k.userId, k.name, k.environment, k.maskedKey, k.status, k.scopes.join(','), new Date(k.createdAt).toISOString()]);
        printTable(['ID', 'USER', 'NAME', 'ENV', 'KEY', 'STATUS', 'SCOPES', 'CREATED'], rows);
      }),
    );
  keys
    .command('revoke <id>')
    .description('revoke a gateway key (every node refuses it within a second)')
    .option('--reason <text>')
    .action((id: string, opts: { reason?: string }) =>
      withDeps(async (deps) => {
        const record = await revokeGatewayKey(deps, ALL, id, opts.reason, CLI_ACTOR);
        process.stdout.write(`revoked ${record.id} (${record.name})\n`);
      }),
    );
  keys
    .command('rotate <id>')
    .description('replace a key by a new one; the old one keeps working for the grace period only')
    .option('--grace <seconds>', 'grace period for the old key, 0..604800', '0')
    .option('--reason <text>')
    .action((id: string, opts: { grace: string; reason?: string }) =>
      withDeps(async (deps) => {
        const input = parseInput(rotateKeySchema, { gracePeriodSeconds: Number(opts.grace), reason: opts.reason }, 'body');
        const { record, key, previous } = await rotateGatewayKey(deps, ALL, id, input, CLI_ACTOR);
        const until = previous.status === 'active' && previous.expiresAt ? `works until ${new Date(previous.expiresAt).toISOString()}` : 'is revoked';
        process.stdout.write(`rotated ${previous.id} → ${record.id}; the old key ${until}\n`);
        process.stdout.write(`${key}\n`);
        process.stderr.write('store the key now: it is not shown again\n');
      }),
    );
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: string[]) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}
