#!/usr/bin/env node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig, ConfigError } from '../src/config';
import { createDeps, closeDeps, Deps } from '../src/deps';
import { createLogger } from '../src/logger';
import { DataDirLockedError } from '../src/store/data-dir-lock';
import { registerCoreCommands } from './commands/core';
import { registerKeysCommands } from './commands/keys';
import { registerAuditCommands } from './commands/audit';
import { registerWalletCommands } from './commands/wallet';
import { registerUsageCommands } from './commands/usage';
import { registerPricesCommands } from './commands/prices';

/**
 * `keywallet` — the same code paths as the HTTP API, run against the configured database.
 * Each capability registers its commands in scripts/commands/<capability>.ts and adds one line below.
 */
export type WithDeps = <T>(fn: (deps: Deps) => Promise<T>) => Promise<T>;

/** The command's words (`keys create`), without option values, to name it in the DATA_DIR lock. */
function commandName(argv: string[]): string {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-') || words.length === 2) break;
    words.push(arg);
  }
  return words.join(' ');
}

export const withDeps: WithDeps = async (fn) => {
  const config = loadConfig();
  // The CLI records no usage: its ledger gets an empty spool of its own, so it never replays or deletes the
  // segments a gateway keeps in DATA_DIR (on PostgreSQL the CLI runs beside the gateways).
  const usageSpoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keywallet-cli-spool-'));
  try {
    const deps = await createDeps(config, {
      logger: createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr as never),
      lockHolder: { kind: 'cli', command: commandName(process.argv.slice(2)) },
      usageSpoolDir,
    });
    try {
      return await fn(deps);
    } finally {
      await closeDeps(deps);
    }
  } finally {
    fs.rmSync(usageSpoolDir, { recursive: true, force: true });
  }
};

export function buildCli(): Command {
  const program = new Command('keywallet').description('Keywallet gateway administration').showHelpAfterError();
  registerCoreCommands(program, withDeps);
  registerKeysCommands(program, withDeps);
  registerAuditCommands(program, withDeps);
  registerWalletCommands(program, withDeps);
  registerUsageCommands(program, withDeps);
  registerPricesCommands(program, withDeps);
  return program;
}

function failureMessage(err: unknown): string {
  if (err instanceof ConfigError) return `configuration error: ${err.message}`;
  if (err instanceof DataDirLockedError) {
    // the CLI opens the embedded database itself, so it cannot run beside the gateway, not even to read
    const next =
      err.holder.kind === 'gateway'
        ? `use the gateway's HTTP API instead (${err.holder.url ?? 'see docs/api.md'}), or stop the gateway and run this command again`
        : 'wait for it to finish and run this command again';
    return `${err.message}.\n  The embedded database (PGlite) can be used by one process at a time: ${next}.`;
  }
  return (err as Error).message;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err) => {
      process.stderr.write(`keywallet: ${failureMessage(err)}\n`);
      process.exit(err instanceof ConfigError || err instanceof DataDirLockedError ? 78 : 1);
    });
}
