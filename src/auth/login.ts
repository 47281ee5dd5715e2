import crypto from 'node:crypto';
import type { Deps } from '../deps';
import { AppError } from '../http/errors';
import { isUniqueViolation } from '../store/db';
import { AuditActor, recordAudit } from '../audit/audit';
import { signJwt } from './jwt';
import { hashPassword, verifyPassword } from './passwords';
import { createUser, presentUser, UserRow } from './users';
import { admitLoginAttempt } from './login-limit';
import { PERMISSIONS } from './permissions';

type AuthDeps = Pick<Deps, 'db' | 'kv' | 'metrics' | 'clock' | 'config'>;

const INVALID_LOGIN = 'Invalid email or password';

/** A real scrypt hash of nothing anyone knows: unknown emails cost the same work as known ones. */
let dummyHash: Promise<string> | null = null;
const timingDecoy = () => (dummyHash ??= hashPassword(crypto.randomBytes(24).toString('base64')));

export function issueSession(deps: Pick<Deps, 'config'>, user: UserRow) {
  const ttl = deps.config.jwt.ttlSeconds;
  const token = signJwt(deps.config.jwt, { sub: user.id, role: user.role, ver: user.token_version });
  return { token, tokenType: 'Bearer', expiresAt: new Date(Date.now() + ttl * 1000).toISOString(), user: presentUser(user) };
}

/** The caller's own profile, with what their role allows (for UIs deciding what to show). */
export function presentMe(user: UserRow) {
  return { ...presentUser(user), permissions: [...PERMISSIONS[user.role]].sort() };
}

/**
 * Checks a password login (JWT or console session alike). The answer never says whether the email exists,
 * whether the password was wrong or the account disabled, and takes a full scrypt verification either way.
 */
export async function authenticate(deps: AuthDeps, email: string, password: string, ip: string): Promise<UserRow> {
  const attempt = await admitLoginAttempt(deps, email, ip, deps.clock.now());
  let user: UserRow | undefined;
  try {
    user = (await deps.db('users').where({ email: email.trim().toLowerCase() }).first()) as UserRow | undefined;
    const passwordOk = await verifyPassword(password, user?.password_hash ?? (await timingDecoy()));
    if (!user || !passwordOk || user.disabled) throw new AppError('unauthorized', INVALID_LOGIN);
  } catch (err) {
    await attempt.failed();
    throw err;
  }
  await attempt.succeeded();
  const [updated] = await deps.db('users').where({ id: user!.id }).update({ last_login_at: new Date(deps.clock.now()) }).returning('*');
  return updated as UserRow;
}

/** Password login for a JWT. */
export async function login(deps: AuthDeps, email: string, password: string, ip: string) {
  return issueSession(deps, await authenticate(deps, email, password, ip));
}

const REGISTRATIONS_PER_IP_PER_HOUR = 20;

/** Self-service sign-up (ALLOW_REGISTRATION): a developer on the free plan. */
export async function register(deps: AuthDeps, email: string, password: string, actor: AuditActor) {
  if (!deps.config.allowRegistration) throw new AppError('forbidden', 'Registration is disabled on this gateway');
  const admitted = await deps.kv.admit(
    [{ key: `register:ip:${actor.ip ?? 'unknown'}`, limit: REGISTRATIONS_PER_IP_PER_HOUR, cost: 1, windowMs: 3_600_000 }],
    deps.clock.now(),
  );
  if (!admitted.ok) {
    deps.metrics.rateLimited.labels('login', 'login').inc();
    const retryAfter = Math.max(1, Math.ceil(admitted.states[0].resetMs / 1000));
    throw new AppError('rate_limited', 'Too many registrations from this address', { headers: { 'retry-after': String(retryAfter) } });
  }
  try {
    const user = await createUser(deps.db, { email, password, role: 'developer', planId: 'free' }, actor);
    return issueSession(deps, user);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', 'An account with this email already exists');
    throw err;
  }
}

/** Changing one's own password needs the current one, and counts against the login limits. */
export async function changePassword(deps: AuthDeps, userId: string, current: string, next: string, actor: AuditActor) {
  const user = (await deps.db('users').where({ id: userId }).first()) as UserRow | undefined;
  if (!user) throw new AppError('unauthorized', 'Not authenticated');
  const attempt = await admitLoginAttempt(deps, user.email, actor.ip ?? 'unknown', deps.clock.now());
  if (!(await verifyPassword(current, user.password_hash))) {
    await attempt.failed();
    throw new AppError('forbidden', 'The current password is wrong');
  }
  await attempt.succeeded();
  if (next === current) throw new AppError('invalid_request', 'The new password must differ from the current one', { param: 'newPassword' });
  const passwordHash = await hashPassword(next);
  // every session issued before (this one included) ends; the caller gets a fresh one
  const updated = await deps.db.transaction(async (trx) => {
    const [row] = (await trx('users')
      .where({ id: userId })
      .update({
        password_hash: passwordHash,
        token_version: trx.raw('token_version + 1'),
        must_change_password: false,
        updated_at: new Date(deps.clock.now()),
      })
      .returning('*')) as UserRow[];
    await trx('console_sessions').where({ user_id: userId }).delete();
    await recordAudit(trx, actor, { action: 'user.password_change', targetType: 'user', targetId: userId });
    return row;
  });
  return issueSession(deps, updated);
}
