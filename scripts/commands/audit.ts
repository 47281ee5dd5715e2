import fs from 'node:fs';
import type { Command } from 'commander';
import type { WithDeps } from '../cli';
import { verifyAuditChain, VerifyExpectation } from '../../src/audit/audit';
import { auditKeysOf, Checkpoint, checkpointSignatureValid } from '../../src/audit/chain';

interface VerifyOptions {
  expectCount?: string;
  expectHead?: string;
  checkpoint?: string;
}

/** The checkpoint to hold the chain against: from --expect-count/--expect-head, or a file saved from GET /audit/head. */
function expectation(opts: VerifyOptions): { expect?: VerifyExpectation; file?: Checkpoint } {
  if (opts.checkpoint) {
    if (opts.expectCount || opts.expectHead) throw new Error('use either --checkpoint or --expect-count with --expect-head');
    let file: Checkpoint;
    try {
      file = JSON.parse(fs.readFileSync(opts.checkpoint, 'utf8')) as Checkpoint;
    } catch (err) {
      throw new Error(`--checkpoint ${opts.checkpoint}: not a readable JSON checkpoint (${(err as Error).message})`);
    }
    if (!Number.isInteger(file.count) || file.count < 0 || !/^[0-9a-f]{64}$/.test(String(file.headHash))) {
      throw new Error(`--checkpoint ${opts.checkpoint}: expected {"count": N, "headHash": "<64 hex>", ...} as GET /audit/head answers`);
    }
    return { expect: { count: file.count, headHash: file.headHash }, file };
  }
  if (!opts.expectCount && !opts.expectHead) return {};
  if (!opts.expectCount || !opts.expectHead) throw new Error('--expect-count and --expect-head go together');
  if (!/^\d+$/.test(opts.expectCount)) throw new Error('--expect-count must be a whole number of rows');
  if (!/^[0-9a-f]{64}$/.test(opts.expectHead)) throw new Error('--expect-head must be the 64-character hex head hash of a checkpoint');
  return { expect: { count: Number(opts.expectCount), headHash: opts.expectHead } };
}

/** audit verify — the same chain walk as GET /audit/verify; exits 1 when the chain is broken or cut short. */
export function registerAuditCommands(program: Command, withDeps: WithDeps): void {
  const audit = program.command('audit').description('the append-only, keyed hash-chained audit log');
  audit
    .command('verify')
    .description('check every link of the audit hash chain, and against a published checkpoint if given')
    .option('--expect-count <rows>', 'row count of a checkpoint (GET /audit/head, or the "audit checkpoint" log line)')
    .option('--expect-head <hash>', 'head hash of the same checkpoint')
    .option('--checkpoint <file>', 'a checkpoint saved from GET /audit/head (its signature is checked too)')
    .action((opts: VerifyOptions) =>
      withDeps(async (deps) => {
        const { expect, file } = expectation(opts);
        if (file && file.signature !== undefined && !checkpointSignatureValid(auditKeysOf(deps.db), file)) {
          process.stdout.write(`checkpoint ${opts.checkpoint} is NOT signed by this gateway's master key: it proves nothing\n`);
          process.exitCode = 1;
          return;
        }
        const result = await verifyAuditChain(deps.db, { expect });
        if (result.ok) {
          const against = expect ? `, consistent with the checkpoint of ${expect.count} rows` : '';
          process.stdout.write(`audit log intact: ${result.checked} rows checked${against}; head ${result.headHash}\n`);
        } else {
          const where = result.firstBrokenId !== null ? ` at row ${result.firstBrokenId}` : '';
          const intact = result.firstBrokenId !== null ? `${result.checked} rows intact before it` : `${result.checked} rows checked`;
          process.stdout.write(`audit log BROKEN${where}: ${result.reason} (${intact})\n`);
          process.exitCode = 1;
        }
      }),
    );
}
