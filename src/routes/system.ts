import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { databaseKind, readiness } from '../store/readiness';
import { parseMasterKeys } from '../wallet/crypto';
import { VERSION } from '../version';

const systemResponse = z.object({
  version: z.string(),
  node: z.string().describe('Node.js version'),
  backends: z.object({ database: z.enum(['postgres', 'pglite']), store: z.enum(['redis', 'memory']) }),
  ready: z.boolean(),
  checks: z.record(z.string(), z.string()).describe("what /ready reports: dependency → 'ok' or 'failing: …'"),
  uptimeSeconds: z.number().int().describe('of this gateway process'),
  startedAt: z.string(),
  masterKeys: z.object({ current: z.number().int(), versions: z.array(z.number().int()) }).describe('versions only, never key material'),
});

/** GET /system (admin): what this gateway node runs on and whether its dependencies answer. */
export function systemRoutes(deps: Deps, api: (tag: string) => Api) {
  const ring = parseMasterKeys(deps.config.masterKeys);
  return api('System').route(
    {
      method: 'get',
      path: '/system',
      summary: 'Version, backends, readiness per dependency, uptime and master key versions of this node (admin)',
      auth: 'jwt',
      permission: 'system:read',
      response: systemResponse,
    },
    async () => {
      const { ok, checks } = await readiness(deps);
      const uptimeSeconds = Math.floor(process.uptime());
      return {
        version: VERSION,
        node: process.version,
        backends: { database: databaseKind(deps.db), store: deps.kv.kind },
        ready: ok,
        checks,
        uptimeSeconds,
        startedAt: new Date(Date.now() - uptimeSeconds * 1000).toISOString(),
        masterKeys: { current: ring.current, versions: ring.versions },
      } satisfies z.infer<typeof systemResponse>;
    },
  ).router;
}
