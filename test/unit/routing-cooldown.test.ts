import pino from 'pino';
import { CooldownTracker } from '../../src/routing/cooldown';
import { MemoryKvStore } from '../../src/store/memory-kv';

const logger = pino({ level: 'silent' });

describe('CooldownTracker', () => {
  let kv: MemoryKvStore;
  let now: number;
  const clock = { now: () => now };

  beforeEach(() => {
    kv = new MemoryKvStore();
    now = Date.now();
  });
  afterEach(() => kv.close());

  it('a cooldown on one node is seen at once by another (pub/sub)', async () => {
    const a = new CooldownTracker(kv, clock, logger);
    const b = new CooldownTracker(kv, clock, logger);
    await a.start();
    await b.start();
    expect((await b.snapshot(['e1'])).cooldownUntil.size).toBe(0);
    await a.coolDown('e1', 5000);
    const seen = await b.snapshot(['e1', 'e2']);
    expect(seen.cooldownUntil.get('e1')).toBe(now + 5000);
    expect(seen.cooldownUntil.has('e2')).toBe(false);
    now += 5001;
    expect((await b.snapshot(['e1'])).cooldownUntil.size).toBe(0);
  });

  it('a node that starts later reads the shared store once, then relies on announcements', async () => {
    const a = new CooldownTracker(kv, clock, logger);
    await a.start();
    await a.coolDown('e1', 60_000);
    const late = new CooldownTracker(kv, clock, logger);
    await late.start();
    const get = jest.spyOn(kv, 'get');
    expect((await late.snapshot(['e1'])).cooldownUntil.get('e1')).toBe(now + 60_000);
    const reads = get.mock.calls.length;
    expect(reads).toBeGreaterThan(0);
    await late.snapshot(['e1']);
    await late.snapshot(['e1']);
    expect(get.mock.calls.length).toBe(reads); // cached
  });

  it('a warm snapshot never waits for the shared store: the periodic re-read runs in the background', async () => {
    const a = new CooldownTracker(kv, clock, logger);
    await a.start();
    await a.snapshot(['e1']); // the first read of e1
    now += 31_000; // past the re-read interval
    await kv.set('cooldown:e1', String(now + 9000), 9000); // written without an announcement we heard
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const get = jest.spyOn(kv, 'get').mockImplementation(async (key) => {
      await gate;
      return key === 'cooldown:e1' ? String(now + 9000) : null;
    });
    const warm = await a.snapshot(['e1']); // answered although the store has not answered yet
    expect(warm.cooldownUntil.size).toBe(0);
    expect(get).toHaveBeenCalled();
    release();
    await new Promise((r) => setImmediate(r));
    expect((await a.snapshot(['e1'])).cooldownUntil.get('e1')).toBe(now + 9000);
  });

  it('concurrent first snapshots of an entry share one read and all see its cooldown', async () => {
    const a = new CooldownTracker(kv, clock, logger);
    await a.start();
    await kv.set('cooldown:e1', String(now + 4000), 4000);
    const late = new CooldownTracker(kv, clock, logger);
    const get = jest.spyOn(kv, 'get');
    const snaps = await Promise.all([late.snapshot(['e1']), late.snapshot(['e1']), late.snapshot(['e1'])]);
    expect(snaps.map((s) => s.cooldownUntil.get('e1'))).toEqual([now + 4000, now + 4000, now + 4000]);
    expect(get).toHaveBeenCalledTimes(2); // cooldown and steer, once
  });

  it('steers are kept apart from cooldowns', async () => {
    const a = new CooldownTracker(kv, clock, logger);
    await a.start();
    await a.steerAway('e1', 2000);
    const snap = await a.snapshot(['e1']);
    expect(snap.steerAway.get('e1')).toBe(now + 2000);
    expect(snap.cooldownUntil.has('e1')).toBe(false);
  });

  it('keeps the later deadline when two nodes cool the same entry', async () => {
    const a = new CooldownTracker(kv, clock, logger);
    const b = new CooldownTracker(kv, clock, logger);
    await a.start();
    await b.start();
    await a.coolDown('e1', 10_000);
    await b.coolDown('e1', 1000);
    expect((await a.snapshot(['e1'])).cooldownUntil.get('e1')).toBe(now + 10_000);
  });

  it('ignores malformed announcements', async () => {
    const a = new CooldownTracker(kv, clock, logger);
    await a.start();
    await kv.publish('cooldown', 'not json');
    await kv.publish('cooldown', JSON.stringify({ id: 'e1', kind: 'bogus', until: now + 1000 }));
    expect((await a.snapshot(['e1'])).cooldownUntil.size).toBe(0);
  });

  it('still honours a cooldown locally when the shared store fails', async () => {
    const a = new CooldownTracker(kv, clock, logger);
    await a.start();
    jest.spyOn(kv, 'set').mockRejectedValueOnce(new Error('redis down'));
    await a.coolDown('e1', 3000);
    expect((await a.snapshot(['e1'])).cooldownUntil.get('e1')).toBe(now + 3000);
  });
});
