#!/usr/bin/env node
import { Command } from 'commander';
import { loadConfig, ConfigError } from '../src/config';
import { createDeps, closeDeps, Deps } from '../src/deps';
import { createLogger } from '../src/logger';
import { registerCoreCommands } from './commands/core';
import { registerKeysCommands } from './commands/keys';
import { registerAuditCommands } from './commands/audit';
import { registerWalletCommands } from './commands/wallet';
import { registerUsageCommands } from './commands/usage';

/**
 * `keywallet` — the same code paths as the HTTP API, run against the configured database.
 * Each capability registers its commands in scripts/commands/<capability>.ts and adds one line below.
 */
export type WithDeps = <T>(fn: (deps: Deps) => Promise<T>) => Promise<T>;

export const withDeps: WithDeps = async (fn) => {
  const config = loadConfig();
  const deps = await createDeps(config, { logger: createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr as never) });
  try {
    return await fn(deps);
  } finally {
    await closeDeps(deps);
  }
};

export function buildCli(): Command {
  const program = new Command('keywallet').description('Keywallet gateway administration').showHelpAfterError();
  registerCoreCommands(program, withDeps);
  registerKeysCommands(program, withDeps);
  registerAuditCommands(program, withDeps);
  registerWalletCommands(program, withDeps);
  registerUsageCommands(program, withDeps);
  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err) => {
      const message = err instanceof ConfigError ? `configuration error: ${err.message}` : (err as Error).message;
      process.stderr.write(`keywallet: ${message}\n`);
      process.exit(err instanceof ConfigError ? 78 : 1);
    });
}
