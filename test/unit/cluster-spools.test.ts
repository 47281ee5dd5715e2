import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adoptOrphanSpools, runsClusterJobs, usageSpoolDir } from '../../src/cluster/role';

const seg = (n: number) => `usage-${String(n).padStart(12, '0')}.log`;

describe('cluster roles and usage spools', () => {
  it('runs the once-per-cluster jobs in a single process and in worker 1 only', () => {
    expect(runsClusterJobs({ clusterWorker: undefined })).toBe(true);
    expect(runsClusterJobs({ clusterWorker: 1 })).toBe(true);
    expect(runsClusterJobs({ clusterWorker: 2 })).toBe(false);
  });

  it('gives worker 1 the single process spool and every other worker one of its own', () => {
    expect(usageSpoolDir('/d', 1)).toBe(path.join('/d', 'usage-spool'));
    expect(usageSpoolDir('/d', 3)).toBe(path.join('/d', 'usage-spool-3'));
  });

  it('moves the spools of worker slots no longer configured into worker 1, after its own segments', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-spools-'));
    fs.mkdirSync(path.join(dir, 'usage-spool'));
    fs.writeFileSync(path.join(dir, 'usage-spool', seg(4)), 'one\n');
    for (const slot of [2, 3, 4]) {
      fs.mkdirSync(path.join(dir, `usage-spool-${slot}`));
      fs.writeFileSync(path.join(dir, `usage-spool-${slot}`, seg(1)), `slot ${slot}\n`);
    }
    expect(adoptOrphanSpools(dir, 2)).toBe(2);
    expect(fs.readdirSync(dir).sort()).toEqual(['usage-spool', 'usage-spool-2']);
    const target = path.join(dir, 'usage-spool');
    expect(fs.readdirSync(target).sort()).toEqual([seg(4), seg(5), seg(6)]);
    const moved = [seg(5), seg(6)].map((f) => fs.readFileSync(path.join(target, f), 'utf8')).sort();
    expect(moved).toEqual(['slot 3\n', 'slot 4\n']);
    expect(fs.readFileSync(path.join(dir, 'usage-spool-2', seg(1)), 'utf8')).toBe('slot 2\n'); // still configured
    // back to one process: worker 2's spool is adopted too; nothing left to move the next time
    expect(adoptOrphanSpools(dir, 1)).toBe(1);
    expect(fs.readdirSync(target).sort()).toEqual([seg(4), seg(5), seg(6), seg(7)]);
    expect(adoptOrphanSpools(dir, 1)).toBe(0);
  });
});
