import type { Command } from 'commander';
import type { WithDeps } from '../cli';
import { verifyAuditChain } from '../../src/audit/audit';

/** audit verify — the same chain walk as GET /audit/verify; exits 1 when the chain is broken. */
export function registerAuditCommands(program: Command, withDeps: WithDeps): void {
  const audit = program.command('audit').description('the append-only, hash-chained audit log');
  audit
    .command('verify')
    .description('check every link of the audit hash chain')
    .action(() =>
      withDeps(async (deps) => {
        const result = await verifyAuditChain(deps.db);
        if (result.ok) {
          process.stdout.write(`audit log intact: ${result.checked} rows checked\n`);
        } else {
          process.stdout.write(`audit log BROKEN at row ${result.firstBrokenId}: ${result.reason} (${result.checked} rows intact before it)\n`);
          process.exitCode = 1;
        }
      }),
    );
}
