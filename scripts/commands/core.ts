import type { Command } from 'commander';
import type { WithDeps } from '../cli';
import { runBuiltinSeeds } from '../../seeds/builtin';
import { migrateLatest } from '../../src/store/db';
import { createUser } from '../../src/auth/users';
import { signJwt, TokenLifetimeError } from '../../src/auth/jwt';
import { ROLES, Role } from '../../src/auth/permissions';
import { generatePassword } from '../../src/auth/bootstrap';
import { updateUser } from '../../src/auth/user-admin';

/** migrate, seed, admin create, admin reset-password, token. (createDeps already migrates and seeds; these make it explicit.) */
export function registerCoreCommands(program: Command, withDeps: WithDeps): void {
  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(() =>
      withDeps(async (deps) => {
        const applied = await migrateLatest(deps.db);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      }),
    );
  program
    .command('seed')
    .description('insert the built-in services, plans, model aliases and prices (idempotent)')
    .action(() =>
      withDeps(async (deps) => {
        await runBuiltinSeeds(deps.db);
        process.stdout.write('built-in seeds are in place\n');
      }),
    );
  const admin = program.command('admin').description('manage administrators');
  admin
    .command('create')
    .description('create a user (an admin by default); the password is read from KEYWALLET_NEW_PASSWORD or stdin')
    .requiredOption('--email <email>')
    .option('--role <role>', 'admin | developer | analyst', 'admin')
    .action((opts: { email: string; role: string }) =>
      withDeps(async (deps) => {
        if (!ROLES.includes(opts.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
        const password = process.env.KEYWALLET_NEW_PASSWORD ?? (await readStdin()).trim();
        if (password.length < 12) throw new Error('the password must be at least 12 characters');
        const user = await createUser(deps.db, { email: opts.email, password, role: opts.role as Role }, { type: 'cli' });
        process.stdout.write(`created ${user.role} ${user.email} (${user.id})\n`);
      }),
    );
  admin
    .command('reset-password')
    .description(
      'set a new password for a user and end their sessions; from KEYWALLET_NEW_PASSWORD or stdin, ' +
        'else generated and printed once',
    )
    .requiredOption('--email <email>')
    .action((opts: { email: string }) =>
      withDeps(async (deps) => {
        const user = await deps.db('users').where({ email: opts.email.toLowerCase() }).first('id', 'email');
        if (!user) throw new Error(`no user ${opts.email}`);
        const given = process.env.KEYWALLET_NEW_PASSWORD || (await readStdin()).trim();
        const password = given || generatePassword();
        if (password.length < 12) throw new Error('the password must be at least 12 characters');
        // the same reset as PATCH /users/:id: audited, and it ends the user's sessions (token_version)
        await updateUser(deps, user.id, { password }, { type: 'cli' });
        // (updateUser also has them choose their own password after logging in with this one)
        const done = `password reset for ${user.email}: their sessions have ended; after logging in they choose a new one\n`;
        process.stdout.write(given ? done : `${done}New password (shown once): ${password}\n`);
      }),
    );
  program
    .command('token')
    .description('mint a JWT for automation')
    .requiredOption('--email <email>')
    .option('--ttl <seconds>', 'lifetime in seconds, at most JWT_MAX_TTL_SECONDS (default 30 days)', '3600')
    .action((opts: { email: string; ttl: string }) =>
      withDeps(async (deps) => {
        const max = deps.config.jwt.maxTtlSeconds;
        const ttl = Number(opts.ttl);
        if (!/^\d+$/.test(opts.ttl.trim()) || ttl < 60) throw new Error(`--ttl must be a whole number of seconds between 60 and ${max}`);
        if (ttl > max) throw new Error(`--ttl ${ttl}: ${new TokenLifetimeError(ttl, max).message}; ask for less, or raise the cap`);
        const user = await deps.db('users').where({ email: opts.email.toLowerCase() }).first();
        if (!user || user.disabled) throw new Error(`no active user ${opts.email}`);
        process.stdout.write(signJwt(deps.config.jwt, { sub: user.id, role: user.role, ver: user.token_version }, ttl) + '\n');
      }),
    );
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
