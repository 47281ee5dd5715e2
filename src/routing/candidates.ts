import type { WalletEntry } from '../wallet/repository';
import type { Environment } from './engine';

/**
 * Where routing gets its candidates: the wallet's own per-node cache of active entries per (service,
 * environment), dropped on every 'wallet:changed' message and refreshed at least every 30 s (WalletService).
 * The entries carry their sealed secret (not enumerable), so opening one needs no second database read.
 */
export interface CandidateSource {
  /** active entries of the service in that environment: the hot path */
  active(service: string, environment: Environment): Promise<WalletEntry[]>;
  /** every entry of the service in that environment, whatever its status: the dry run explains the others too */
  all(service: string, environment: Environment): Promise<WalletEntry[]>;
}

export function walletCandidates(wallet: {
  activeEntries(service: string, environment: Environment): Promise<WalletEntry[]>;
  list(filter: { service: string; environment: Environment }): Promise<WalletEntry[]>;
}): CandidateSource {
  return {
    active: (service, environment) => wallet.activeEntries(service, environment),
    all: (service, environment) => wallet.list({ service, environment }),
  };
}
