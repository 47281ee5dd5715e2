import { runGatewayToExit } from '../helpers/process';
import { TEST_BACKEND, TEST_REDIS_URL } from '../helpers/backend';

const KEY = '1:' + Buffer.alloc(32, 4).toString('base64');
const JWT = 'workers-config-jwt-secret-0123456789abcdef';

jest.setTimeout(200_000); // real processes on a shared machine

/** WORKERS above 1 needs PostgreSQL and Redis: refused at boot like every configuration error (exit 78, one line). */
describe(`WORKERS without PostgreSQL + Redis (${TEST_BACKEND})`, () => {
  it('refuses WORKERS=2 on the embedded default with exit 78, naming what to set, before opening anything', async () => {
    const res = await runGatewayToExit({ WORKERS: '2', KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT, DATABASE_URL: undefined, REDIS_URL: undefined });
    expect(res.code).toBe(78);
    expect(res.output).toContain('keywallet: configuration error: WORKERS: WORKERS=2 needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)');
    expect(res.output).not.toContain('listening');
  });

  it('refuses WORKERS=3 with Redis but the embedded database', async () => {
    const res = await runGatewayToExit({ WORKERS: '3', REDIS_URL: TEST_REDIS_URL, KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT });
    expect(res.code).toBe(78);
    expect(res.output).toContain('WORKERS=3 needs PostgreSQL and Redis (set DATABASE_URL)');
  });

  it('refuses a WORKERS that is not a positive count', async () => {
    const res = await runGatewayToExit({ WORKERS: '0', KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT });
    expect(res.code).toBe(78);
    expect(res.output).toContain('configuration error: WORKERS:');
  });
});
