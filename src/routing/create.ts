import type { Deps } from '../deps';
import { walletCandidates } from './candidates';
import { CooldownTracker } from './cooldown';
import { Router } from './router';
import { WALLET_CHANNEL } from '../wallet/service';

/**
 * The router of one gateway node: candidates from the wallet, cooldowns shared with every other node, and what it
 * remembers of an entry's quota dropped when the entry changes.
 */
export async function createRouter(
  deps: Pick<Deps, 'config' | 'clock' | 'logger' | 'metrics' | 'kv' | 'services' | 'wallet'>,
): Promise<Router> {
  const cooldowns = new CooldownTracker(deps.kv, deps.clock, deps.logger);
  await cooldowns.start();
  const router = new Router({
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
    kv: deps.kv,
    services: deps.services,
    wallet: deps.wallet,
    candidates: walletCandidates(deps.wallet),
    cooldowns,
    defaultTimeoutMs: deps.config.upstreamTimeoutMs,
  });
  await deps.kv.subscribe(WALLET_CHANNEL, (id) => router.forgetEntry(id));
  return router;
}
