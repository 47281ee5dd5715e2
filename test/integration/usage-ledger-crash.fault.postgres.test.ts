import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnGateway, GatewayProcess } from '../helpers/process';
import { freePort, ownPostgres, ownRedis, OwnPostgres, OwnRedis } from '../helpers/own-servers';
import { faultEnv, setUpTenant, Shot, startLoad, waitForLedger } from '../helpers/fault-load';
import { startRestMock, MockUpstream } from '../mocks';
import { createDatabase } from '../../src/store/db';

jest.setTimeout(300_000);

/**
 * Loads a gateway at 300 requests/s (40 in flight at most) and kills it with SIGKILL once `killAfter` requests were
 * answered — with requests in flight, whatever the speed of the machine — and returns every shot.
 */
async function loadAndKill(gw: GatewayProcess, key: string, idPrefix: string, killAfter: number): Promise<Shot[]> {
  const load = startLoad({ url: () => gw.url, key, path: '/proxy/echo/ping', ratePerSec: 300, concurrency: 40, maxRequests: 100_000, idPrefix });
  const deadline = Date.now() + 90_000;
  while (load.shots.filter((s) => s.status !== null).length < killAfter && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  gw.child.kill('SIGKILL');
  await gw.exited;
  load.stop();
  await load.done;
  return load.shots;
}

const answeredIds = (shots: Shot[]) => shots.filter((s) => s.status !== null).map((s) => s.id);

/**
 * kill -9 of a gateway under load (issue 16: 58, 23 and 18 usage events lost in three runs, all of them held in
 * memory). Now an answer leaves only after its event is in the Redis stream (or the spool file), so every answered
 * request has exactly one event once a node has written what the dead one left pending.
 */
describe('usage ledger across kill -9 (fault)', () => {
  let mock: MockUpstream;
  const dirs: string[] = [];
  const tempDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-fault-data-'));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    mock = await startRestMock();
  });
  afterAll(async () => {
    await mock?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  describe('PostgreSQL + Redis', () => {
    let pg: OwnPostgres;
    let redis: OwnRedis;
    let gw: GatewayProcess | null = null;
    beforeAll(async () => {
      pg = ownPostgres(await freePort());
      redis = await ownRedis(await freePort());
    });
    afterAll(async () => {
      await gw?.stop();
      await redis?.destroy();
      pg?.destroy();
    });

    it('loses no event and counts none twice across two kill -9 under load', async () => {
      const env = faultEnv({ DATABASE_URL: pg.url, REDIS_URL: redis.url, DATA_DIR: tempDir(), USAGE_CLAIM_IDLE_MS: '1000' });
      gw = await spawnGateway(env);
      const { key } = await setUpTenant(gw.url, mock.url);
      const shots = await loadAndKill(gw, key, 'kill-a', 200);
      gw = await spawnGateway(env); // the restarted node claims what the dead one read and never acknowledged
      shots.push(...(await loadAndKill(gw, key, 'kill-b', 200)));
      gw = await spawnGateway(env);
      const answered = answeredIds(shots);
      const { audit, ms } = await waitForLedger(pg.url, answered, 30_000);
      console.log(
        `kill -9 x2 on PostgreSQL + Redis: ${shots.length} requests, ${answered.length} answered, events missing ${audit.missing.length}, ` +
          `duplicated ${audit.duplicated}, all stored ${Math.round(ms)} ms after the restart`,
      );
      expect(answered.length).toBeGreaterThanOrEqual(400);
      expect(audit.missing).toEqual([]);
      expect(audit.duplicated).toBe(0);
      expect(audit.rollupRequests).toBe(audit.events);
    });
  });

  it('embedded: the restart replays the spool, losing nothing and counting nothing twice', async () => {
    const dataDir = tempDir();
    const env = faultEnv({ DATA_DIR: dataDir });
    let gw = await spawnGateway(env, 180_000);
    const { key } = await setUpTenant(gw.url, mock.url);
    const shots = await loadAndKill(gw, key, 'kill-embedded', 200);
    gw = await spawnGateway(env, 180_000);
    // the replay is done once the spool is empty: /metrics says so
    for (let i = 0; i < 300; i++) {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      if (/keywallet_usage_backlog_events\{store="spool"\} 0\b/.test(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await gw.stop()).toBe(0);
    const answered = answeredIds(shots);
    const db = await createDatabase({ dataDir });
    try {
      const rows = await db('usage_events').whereIn('request_id', answered).select('request_id');
      const seen = new Set(rows.map((r) => r.request_id));
      const missing = answered.filter((id) => !seen.has(id));
      const events = Number((await db('usage_events').count({ n: '*' }))[0].n);
      const rollup = Number((await db('usage_daily').sum({ n: 'requests' }))[0].n);
      console.log(`kill -9 embedded: ${shots.length} requests, ${answered.length} answered, events missing ${missing.length}, rows ${rows.length}`);
      expect(answered.length).toBeGreaterThanOrEqual(200);
      expect(missing).toEqual([]);
      expect(rows.length).toBe(answered.length); // one each
      expect(rollup).toBe(events);
    } finally {
      await db.destroy();
    }
  });
});

