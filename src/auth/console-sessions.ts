import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../clock';
import type { UserRow } from './users';

/**
 * The web console's sessions, kept server side: the browser holds a random token in an httpOnly cookie, the
 * table only its SHA-256. A session ends at its absolute expiry, after `idleSeconds` without a request, at
 * logout, when the user's password changes (token version) and when the user is disabled — at once, on every
 * node, because every request reads the row. The CSRF token is an HMAC of the session id: nothing more to store,
 * and it cannot be derived without the server's secret.
 */
export const SESSION_COOKIE = 'kw_session';

export interface ConsoleSessionSettings {
  ttlSeconds: number;
  idleSeconds: number;
  /** the secret the CSRF tokens are derived from (the JWT secret) */
  secret: string;
}

export interface SessionRow {
  id: string;
  user_id: string;
  token_hash: string;
  token_version: number;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

export interface ResolvedSession {
  session: SessionRow;
  user: UserRow;
}

/** last_seen_at is written at most this often: a busy console page does not write on every request */
const TOUCH_EVERY_MS = 30_000;

const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

export class ConsoleSessions {
  private readonly csrfKey: Buffer;

  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    private readonly settings: ConsoleSessionSettings,
  ) {
    this.csrfKey = crypto.createHmac('sha256', settings.secret).update('keywallet console csrf').digest();
  }

  get ttlSeconds(): number {
    return this.settings.ttlSeconds;
  }

  async create(user: UserRow): Promise<{ token: string; session: SessionRow }> {
    const now = new Date(this.clock.now());
    // expired rows go when someone logs in: logins are rare, and nothing reads an expired row anyway
    await this.db('console_sessions').where('expires_at', '<', now).delete();
    const token = crypto.randomBytes(32).toString('base64url');
    const [session] = (await this.db('console_sessions')
      .insert({
        id: crypto.randomUUID(),
        user_id: user.id,
        token_hash: hashToken(token),
        token_version: user.token_version,
        created_at: now,
        last_seen_at: now,
        expires_at: new Date(now.getTime() + this.settings.ttlSeconds * 1000),
      })
      .returning('*')) as SessionRow[];
    return { token, session };
  }

  /** The live session and its user for a cookie token, or null (unknown, expired, idle, ended, user disabled). */
  async resolve(token: string): Promise<ResolvedSession | null> {
    if (!token || token.length > 128) return null;
    const session = (await this.db('console_sessions').where({ token_hash: hashToken(token) }).first()) as SessionRow | undefined;
    if (!session) return null;
    const now = this.clock.now();
    const idleUntil = new Date(session.last_seen_at).getTime() + this.settings.idleSeconds * 1000;
    if (now >= new Date(session.expires_at).getTime() || now >= idleUntil) {
      await this.end(session.id);
      return null;
    }
    const user = (await this.db('users').where({ id: session.user_id }).first()) as UserRow | undefined;
    if (!user || user.disabled || user.token_version !== session.token_version) return null;
    if (now - new Date(session.last_seen_at).getTime() >= TOUCH_EVERY_MS) {
      await this.db('console_sessions').where({ id: session.id }).update({ last_seen_at: new Date(now) });
    }
    return { session, user };
  }

  /** When the session ends if nothing else happens: the earlier of its absolute and its idle expiry. */
  endsAt(session: SessionRow): Date {
    const idle = Math.max(new Date(session.last_seen_at).getTime(), this.clock.now()) + this.settings.idleSeconds * 1000;
    return new Date(Math.min(new Date(session.expires_at).getTime(), idle));
  }

  async end(id: string): Promise<void> {
    await this.db('console_sessions').where({ id }).delete();
  }

  async endAllFor(db: Knex, userId: string): Promise<void> {
    await db('console_sessions').where({ user_id: userId }).delete();
  }

  csrfToken(sessionId: string): string {
    return crypto.createHmac('sha256', this.csrfKey).update(sessionId).digest('base64url');
  }

  csrfMatches(sessionId: string, given: string | undefined): boolean {
    if (!given) return false;
    const want = Buffer.from(this.csrfToken(sessionId));
    const got = Buffer.from(given);
    return got.length === want.length && crypto.timingSafeEqual(got, want);
  }
}

/** The Set-Cookie value: httpOnly, SameSite=Strict, Path=/, Secure over https or in production. */
export function sessionCookie(token: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  const parts = [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${opts.maxAgeSeconds}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeSeconds: 0 });
}
