import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, runGatewayToExit, spawnGateway } from '../helpers/process';

jest.setTimeout(600_000);

/**
 * 14.13: two processes on one embedded database lost data silently (a CLI-created key the gateway rejected, a
 * second gateway that reported ready, both processes' writes gone after a restart). DATA_DIR is now held by one
 * process at a time; the others refuse, naming the holder.
 */
describe('DATA_DIR lock on the embedded database, as real processes (14.13)', () => {
  it('a second gateway and CLI commands refuse while a gateway runs; a killed gateway’s lock is taken over', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwlock-'));
    const first = await spawnGateway({ DATA_DIR: dataDir });
    const pid = first.child.pid!;
    try {
      const second = await runGatewayToExit({ DATA_DIR: dataDir, HOST: '127.0.0.1' });
      expect(second.code).toBe(78);
      expect(second.output).toContain(`is in use by a keywallet gateway (PID ${pid}, listening on ${first.url}`);
      expect(second.output).not.toContain('keywallet listening');

      // writes and reads alike: PGlite cannot share the folder at all
      for (const args of [['keys', 'create', '--email', 'admin@localhost', '--name', 'cli'], ['audit', 'verify']]) {
        const cli = await runCli(args, { DATA_DIR: dataDir });
        expect(cli.code).toBe(78);
        expect(cli.output).toContain(`PID ${pid}`);
        expect(cli.output).toContain(`use the gateway's HTTP API instead (${first.url})`);
        expect(cli.stdout).not.toMatch(/kw_(live|test)_/);
      }
      expect((await fetch(`${first.url}/ready`)).status).toBe(200);
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    // SIGKILL leaves the lock file behind, naming a process that is gone
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'keywallet.lock'), 'utf8')).pid).toBe(pid);
    const next = await spawnGateway({ DATA_DIR: dataDir });
    expect((await fetch(`${next.url}/ready`)).status).toBe(200);
    expect(await next.stop()).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'keywallet.lock'))).toBe(false);

    // with no gateway running, the CLI has the folder to itself
    const verify = await runCli(['audit', 'verify'], { DATA_DIR: dataDir });
    expect(verify.output).not.toContain('in use');
    expect(verify.code).toBe(0);
  });
});
