import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError } from '../../src/config';

const KEY = '1:' + Buffer.alloc(32, 1).toString('base64');
const JWT = 'x'.repeat(40);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kwcfg-'));
}

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig({ KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT, DATA_DIR: tmpDir() });
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1'); // 14.15: the management API is not on every interface unless asked
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.allowRegistration).toBe(false);
    expect(c.budgetTimeZone).toBe('UTC');
    expect(c.pgliteThread).toBe(true); // issue #19: the embedded database off the event loop
    expect(loadConfig({ KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT, PGLITE_THREAD: '0' }).pgliteThread).toBe(false);
    expect(c.warnings).toEqual([]);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://x'],
    ['KEYWALLET_MASTER_KEYS', 'not-a-key'],
    ['KEYWALLET_MASTER_KEYS', '1:abc,,2:def'],
    ['JWT_SECRET', 'short'],
    ['LOG_LEVEL', 'loud'],
    ['ALLOW_REGISTRATION', 'maybe'],
    ['PGLITE_THREAD', 'maybe'],
    ['KEYWALLET_ADMIN_EMAIL', 'not-an-email'],
    ['BUDGET_TIME_ZONE', 'Mars/Olympus_Mons'],
  ])('names %s when its value (%s) is bad', (variable, value) => {
    const err = configError({ KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT, [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}:`)).toBe(true);
  });

  it('never echoes a bad master key value', () => {
    const secret = 'supersecretmaterial-not-base64!!';
    const err = configError({ KEYWALLET_MASTER_KEYS: secret, JWT_SECRET: JWT });
    expect(err.message).not.toContain(secret);
  });

  it('refuses production without a master key or a JWT secret', () => {
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: JWT }).variable).toBe('KEYWALLET_MASTER_KEYS');
    expect(configError({ NODE_ENV: 'production', KEYWALLET_MASTER_KEYS: KEY }).variable).toBe('JWT_SECRET');
    expect(loadConfig({ NODE_ENV: 'production', KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT, METRICS_TOKEN: 'm'.repeat(20) }).env).toBe('production');
  });

  it('requires a password with the bootstrap admin email', () => {
    expect(configError({ KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT, KEYWALLET_ADMIN_EMAIL: 'a@b.co' }).variable).toBe(
      'KEYWALLET_ADMIN_PASSWORD',
    );
  });

  it('outside production generates secrets once into DATA_DIR with mode 0600 and warns', () => {
    const dir = tmpDir();
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.warnings).toHaveLength(2);
    const file = path.join(dir, 'secrets.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const second = loadConfig({ DATA_DIR: dir });
    expect(second.masterKeys).toBe(first.masterKeys);
    expect(second.jwt.secret).toBe(first.jwt.secret);
    expect(first.masterKeys).toMatch(/^1:[A-Za-z0-9+/]{43}=$/);
  });

  describe('WORKERS', () => {
    const base = { KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT };
    const shared = { ...base, DATABASE_URL: 'postgres://db/kw', REDIS_URL: 'redis://cache:6379' };
    const cores = os.availableParallelism();

    it('defaults to one process on the embedded default, and with only one of PostgreSQL and Redis', () => {
      expect(loadConfig({ ...base, DATA_DIR: tmpDir() }).workers).toBe(1);
      expect(loadConfig({ ...base, REDIS_URL: 'redis://cache:6379', DATA_DIR: tmpDir() }).workers).toBe(1);
      expect(loadConfig({ ...base, DATABASE_URL: 'postgres://db/kw' }).workers).toBe(1);
    });

    it('defaults to the number of cores on PostgreSQL + Redis, and takes an explicit count', () => {
      expect(loadConfig(shared).workers).toBe(cores);
      expect(loadConfig({ ...shared, WORKERS: '3' }).workers).toBe(3);
      expect(loadConfig({ ...base, WORKERS: '1', DATA_DIR: tmpDir() }).workers).toBe(1);
    });

    it('refuses more than one worker without both PostgreSQL and Redis, naming what is missing', () => {
      const embedded = configError({ ...base, WORKERS: '2', DATA_DIR: tmpDir() });
      expect(embedded.variable).toBe('WORKERS');
      expect(embedded.message).toMatch(/WORKERS=2 needs PostgreSQL and Redis \(set DATABASE_URL and REDIS_URL\)/);
      expect(configError({ ...base, WORKERS: '4', DATABASE_URL: 'postgres://db/kw' }).message).toMatch(/\(set REDIS_URL\)/);
      expect(configError({ ...base, WORKERS: '2', REDIS_URL: 'redis://cache:6379', DATA_DIR: tmpDir() }).message).toMatch(/\(set DATABASE_URL\)/);
    });

    it.each(['0', '-1', 'many', '1.5', '257'])('rejects WORKERS=%s', (bad) => {
      expect(configError({ ...shared, WORKERS: bad }).variable).toBe('WORKERS');
    });
  });
});
