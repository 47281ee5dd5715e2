import { types } from 'node:util';
import type { Knex } from 'knex';
import type { GatewayNode } from './second-node';

/** Keeps the raw text of every response a node sends, for the secret scan at the end of a test file. */
export function recordResponses(node: GatewayNode): string[] {
  const texts: string[] = [];
  const request = node.request.bind(node);
  node.request = (async (path: string, opts?: Parameters<GatewayNode['request']>[1]) => {
    const res = await request(path, opts);
    texts.push(`${[...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${res.text}`);
    return res;
  }) as GatewayNode['request'];
  return texts;
}

/** Every column of every row, in the textual forms a leak could take (bytea as utf8, hex and base64 too). */
export async function tableText(db: Knex, table: string): Promise<string> {
  const rows = (await db(table).select('*')) as Record<string, unknown>[];
  return rows
    .map((row) =>
      Object.values(row)
        .map((v) => {
          if (v instanceof Uint8Array) {
            const b = Buffer.from(v);
            return [b.toString('utf8'), b.toString('hex'), b.toString('base64'), b.toString('latin1')].join(' ');
          }
          return typeof v === 'object' && v !== null && !types.isDate(v) ? JSON.stringify(v) : String(v);
        })
        .join('\t'),
    )
    .join('\n');
}

/**
 * Where any of the secrets shows up: the whole secret, or the part that is more than its masked hint (so a hint
 * of the last four characters is fine, but no longer fragment is). Returns "secret #i in <source>" lines.
 */
export function findLeaks(secrets: string[], sources: Record<string, string>): string[] {
  const leaks: string[] = [];
  secrets.forEach((secret, i) => {
    const fragments = [secret, secret.slice(0, -4), secret.slice(4, -4)].filter((f) => f.length >= 8);
    for (const [name, text] of Object.entries(sources)) {
      if (fragments.some((f) => text.includes(f))) leaks.push(`secret #${i} in ${name}`);
    }
  });
  return leaks;
}
