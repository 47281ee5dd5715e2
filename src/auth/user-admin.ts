import type { Deps } from '../deps';
import { AppError, notFound } from '../http/errors';
import { isUniqueViolation } from '../store/db';
import { AuditActor, recordAudit } from '../audit/audit';
import { publishUsersChanged } from '../keys/events';
import { hashPassword } from './passwords';
import type { Role } from './permissions';
import { createUser, presentUser, UserRow } from './users';

/** Admin user management, shared by /users and the CLI. Every change is audited in its transaction. */

type UserAdminDeps = Pick<Deps, 'db' | 'kv' | 'clock' | 'logger' | 'keys'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface UserListFilter {
  role?: Role;
  disabled?: boolean;
  /** substring of the email */
  q?: string;
  limit: number;
  offset: number;
}

export async function listUsers(deps: Pick<Deps, 'db'>, filter: UserListFilter) {
  const query = deps.db('users');
  if (filter.role) query.where({ role: filter.role });
  if (filter.disabled !== undefined) query.where({ disabled: filter.disabled });
  if (filter.q) query.where('email', 'like', `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const [{ count }] = await query.clone().count({ count: '*' });
  const rows = (await query.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }]).limit(filter.limit).offset(filter.offset)) as UserRow[];
  return { data: rows.map(presentUser), total: Number(count), limit: filter.limit, offset: filter.offset };
}

export async function getUser(deps: Pick<Deps, 'db'>, id: string): Promise<UserRow> {
  const user = UUID.test(id) ? ((await deps.db('users').where({ id }).first()) as UserRow | undefined) : undefined;
  if (!user) throw notFound('User');
  return user;
}

async function assertPlanExists(deps: Pick<Deps, 'db'>, planId: string | undefined): Promise<void> {
  if (planId && !(await deps.db('plans').where({ id: planId }).first('id'))) {
    throw new AppError('invalid_request', `Unknown plan: ${planId}`, { param: 'plan' });
  }
}

export async function createUserAsAdmin(
  deps: Pick<Deps, 'db'>,
  input: { email: string; password: string; role: Role; plan?: string },
  actor: AuditActor,
): Promise<UserRow> {
  await assertPlanExists(deps, input.plan);
  try {
    return await createUser(deps.db, { email: input.email, password: input.password, role: input.role, planId: input.plan }, actor);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', 'A user with this email already exists');
    throw err;
  }
}

export interface UserPatch {
  role?: Role;
  plan?: string;
  disabled?: boolean;
  password?: string;
}

/**
 * Role, plan, disabled flag or password. Takes effect at once: JWTs are checked against the row on every
 * request (a new password ends the user's sessions), and every node's key verifier drops its cache on the users:changed message.
 */
export async function updateUser(deps: UserAdminDeps, id: string, patch: UserPatch, actor: AuditActor): Promise<UserRow> {
  if (actor.id === id && (patch.disabled === true || (patch.role && patch.role !== 'admin'))) {
    throw new AppError('conflict', 'You cannot disable your own account or take away your own admin role');
  }
  if (!UUID.test(id)) throw notFound('User');
  await assertPlanExists(deps, patch.plan);
  const passwordHash = patch.password ? await hashPassword(patch.password) : undefined;
  const updated = await deps.db.transaction(async (trx) => {
    const before = (await trx('users').where({ id }).forUpdate().first()) as UserRow | undefined;
    if (!before) throw notFound('User');
    const changes: Record<string, unknown> = { updated_at: new Date(deps.clock.now()) };
    if (patch.role !== undefined) changes.role = patch.role;
    if (patch.plan !== undefined) changes.plan_id = patch.plan;
    if (patch.disabled !== undefined) changes.disabled = patch.disabled;
    if (passwordHash) changes.password_hash = passwordHash;
    // a new password ends every session issued before (disabling only suspends them: re-enabling restores them)
    if (passwordHash) changes.token_version = before.token_version + 1;
    // a password someone else chose (an admin's reset, the CLI) is only good for choosing one's own
    if (passwordHash) changes.must_change_password = actor.id !== id;
    if (passwordHash || patch.disabled === true) await trx('console_sessions').where({ user_id: id }).delete();
    const [after] = (await trx('users').where({ id }).update(changes).returning('*')) as UserRow[];
    await recordAudit(trx, actor, {
      action: 'user.update',
      targetType: 'user',
      targetId: id,
      before: presentUser(before),
      after: { ...presentUser(after), ...(passwordHash ? { passwordChanged: true } : {}) },
    });
    return after;
  });
  deps.keys.invalidateAll();
  try {
    await publishUsersChanged(deps.kv, [id]);
  } catch (err) {
    deps.logger.error({ err, userId: id }, 'could not announce a user change to other nodes');
  }
  return updated;
}
