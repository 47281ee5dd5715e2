import fs from 'node:fs';
import type { Command } from 'commander';
import type { WithDeps } from '../cli';
import { parseInput } from '../../src/http/validate';
import { importPrices, priceImportSchema, readPriceFile } from '../../src/services/price-import';

/** `prices import FILE`: the same import as POST /models/prices/import. */
export function registerPricesCommands(program: Command, withDeps: WithDeps): void {
  const prices = program.command('prices').description('the model price table');
  prices
    .command('import <file>')
    .description('import prices from a JSON price file ({"prices": [{"model", "service", "inputPerMTok", "outputPerMTok", ...}]}); all or nothing')
    .action((file: string) =>
      withDeps(async (deps) => {
        const body = parseInput(priceImportSchema, readPriceFile(fs.readFileSync(file, 'utf8')), 'body');
        const result = await importPrices({ ...deps, llm: deps.llm }, body, { type: 'cli' });
        process.stdout.write(`price version ${result.version}: ${result.created} created, ${result.updated} updated\n`);
      }),
    );
}
