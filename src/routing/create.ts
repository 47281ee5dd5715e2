import type { Deps } from '../deps';
import { walletCandidates } from './candidates';
import { CooldownTracker } from './cooldown';
import { CredentialProber } from './credential-probe';
import { UpstreamAgents } from '../proxy/forward';
import { Router } from './router';
import type { ResilientCounters } from '../limits/resilient-counters';
import { WALLET_CHANNEL } from '../wallet/service';
import type { WalletEventObserver } from '../alerts/wallet-events';

/**
 * The router of one gateway node: candidates from the wallet, cooldowns shared with every other node, the
 * credential checks that confirm a refused key, and what it remembers of an entry's quota dropped when the entry changes.
 */
export async function createRouter(
  deps: Pick<Deps, 'config' | 'clock' | 'logger' | 'metrics' | 'kv' | 'services' | 'wallet' | 'closers'> & { counters?: ResilientCounters; walletEvents?: WalletEventObserver },
): Promise<Router> {
  // Redis calls on the request path go through the one outage guard: quotas fall back to per-node counts, cooldowns
  // to this node's own knowledge, and nothing waits in the client's offline queue.
  const kv = deps.counters?.store ?? deps.kv;
  const cooldowns = new CooldownTracker(kv, deps.clock, deps.logger);
  await cooldowns.start();
  // its own connection pool: a credential check is rare and must not queue behind client traffic
  const probeAgents = new UpstreamAgents();
  deps.closers.push(() => probeAgents.close());
  const prober = new CredentialProber({ kv, clock: deps.clock, logger: deps.logger, wallet: deps.wallet, agents: probeAgents });
  const router = new Router({
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
    kv,
    localKv: deps.counters?.local,
    services: deps.services,
    wallet: deps.wallet,
    candidates: walletCandidates(deps.wallet),
    cooldowns,
    prober,
    defaultTimeoutMs: deps.config.upstreamTimeoutMs,
    walletEvents: deps.walletEvents,
  });
  await deps.kv.subscribe(WALLET_CHANNEL, (id) => router.forgetEntry(id));
  return router;
}
