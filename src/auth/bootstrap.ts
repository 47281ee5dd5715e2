import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../logger';
import { createUser } from './users';

export interface BootstrapResult {
  created: boolean;
  email?: string;
  /** only when generated: shown once to the operator, never stored in plaintext */
  generatedPassword?: string;
}

/** A random password for a person to type once and change: 24 characters, 144 bits. */
export function generatePassword(): string {
  return crypto.randomBytes(18).toString('base64url');
}

/**
 * Creates the first admin when there is none: from KEYWALLET_ADMIN_EMAIL/PASSWORD, or on the embedded default
 * (no DATABASE_URL) as admin@localhost with a random password printed once.
 */
export async function ensureFirstAdmin(
  db: Knex,
  opts: { bootstrapAdmin?: { email: string; password: string }; embedded: boolean },
  logger: Logger,
): Promise<BootstrapResult> {
  const existing = await db('users').where({ role: 'admin' }).first('id');
  if (existing) return { created: false };
  if (opts.bootstrapAdmin) {
    await createUser(db, { ...opts.bootstrapAdmin, role: 'admin' }, { type: 'system' });
    logger.info({ email: opts.bootstrapAdmin.email }, 'created the first admin from KEYWALLET_ADMIN_EMAIL');
    return { created: true, email: opts.bootstrapAdmin.email };
  }
  if (!opts.embedded) {
    logger.warn('no admin exists: set KEYWALLET_ADMIN_EMAIL and KEYWALLET_ADMIN_PASSWORD, or run `keywallet admin create`');
    return { created: false };
  }
  const password = generatePassword();
  // the printed password is on someone's terminal: the console makes the admin choose their own first
  await createUser(db, { email: 'admin@localhost', password, role: 'admin', mustChangePassword: true }, { type: 'system' });
  return { created: true, email: 'admin@localhost', generatedPassword: password };
}
