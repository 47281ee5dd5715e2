import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Role } from './permissions';
import { hashPassword } from './passwords';
import { AuditActor, recordAudit } from '../audit/audit';

export interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  role: Role;
  plan_id: string;
  disabled: boolean;
  /** bumped when the password changes: JWTs issued before stop working */
  token_version: number;
  /** set when the password was generated or reset by someone else: the user must choose their own first */
  must_change_password: boolean;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The fields of a user that may leave the service. */
export function presentUser(u: UserRow) {
  return {
    id: u.id,
    email: u.email,
    role: u.role,
    plan: u.plan_id,
    disabled: u.disabled,
    mustChangePassword: u.must_change_password,
    lastLoginAt: u.last_login_at,
    createdAt: u.created_at,
    updatedAt: u.updated_at,
  };
}

export interface NewUser {
  email: string;
  password: string;
  role: Role;
  planId?: string;
  /** the password was not chosen by the user (printed at first boot): they must change it first */
  mustChangePassword?: boolean;
}

/** Creates a user and its audit row in one transaction. Throws the database's unique violation on a taken email. */
export async function createUser(db: Knex, input: NewUser, actor: AuditActor): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (trx) => {
    const [row] = await trx('users')
      .insert({
        id: crypto.randomUUID(),
        email: input.email.toLowerCase(),
        password_hash: passwordHash,
        role: input.role,
        plan_id: input.planId ?? (input.role === 'admin' ? 'enterprise' : 'free'),
        must_change_password: input.mustChangePassword ?? false,
      })
      .returning('*');
    await recordAudit(trx, actor, { action: 'user.create', targetType: 'user', targetId: row.id, after: presentUser(row) });
    return row as UserRow;
  });
}
