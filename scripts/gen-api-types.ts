import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config';
import { closeDeps, createDeps } from '../src/deps';
import { buildApp } from '../src/app';
import { createLogger } from '../src/logger';
import { API_TYPES_FILE, renderApiTypes } from './api-types';

/**
 * `npm run gen:api`: builds the gateway in-process on the embedded default (PGlite in memory, throwaway
 * secrets, nothing written to DATA_DIR), reads its /openapi.json from a loopback port and writes the console's
 * API types. `--check` only compares and exits 1 when the committed file is stale; `--from FILE` reads the
 * document from a file instead of building the app (the test hands over its own gateway's document).
 */
async function fromFileOrApp(): Promise<{ doc: unknown; close(): Promise<void> }> {
  const at = process.argv.indexOf('--from');
  if (at !== -1) return { doc: JSON.parse(fs.readFileSync(process.argv[at + 1], 'utf8')), close: async () => {} };
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    KEYWALLET_MASTER_KEYS: '1:' + crypto.randomBytes(32).toString('base64'),
    JWT_SECRET: crypto.randomBytes(32).toString('base64url'),
    PORT: '0',
  });
  const deps = await createDeps(config, { logger: createLogger('silent'), pgliteDir: null });
  const server = http.createServer(buildApp(deps).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    server.close();
    await closeDeps(deps);
  };
  try {
    return { doc: await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json(), close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function main() {
  const check = process.argv.includes('--check');
  const { doc, close } = await fromFileOrApp();
  try {
    const types = await renderApiTypes(doc);
    const current = fs.existsSync(API_TYPES_FILE) ? fs.readFileSync(API_TYPES_FILE, 'utf8') : '';
    if (check) {
      if (current !== types) {
        console.error(`${API_TYPES_FILE} is stale: run npm run gen:api`);
        process.exitCode = 1;
      }
    } else if (current !== types) {
      fs.writeFileSync(API_TYPES_FILE, types);
      console.log(`wrote ${API_TYPES_FILE}`);
    } else {
      console.log(`${API_TYPES_FILE} is up to date`);
    }
  } finally {
    await close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
