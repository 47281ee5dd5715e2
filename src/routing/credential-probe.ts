import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { buildUpstreamUrl } from '../proxy/endpoint-guard';
import { forward, type UpstreamAgents } from '../proxy/forward';
import type { KvStore } from '../store/kv';
import type { ServiceView, WalletEntryView } from './router-types';

/**
 * The service's own credential check, run on one wallet entry after an upstream 401/403 that may have been about
 * the request rather than the key (a /proxy path the client chose, an LLM 403, a second 401 in one request). Only
 * the check's own 401/403 marks the entry invalid: the gateway chose that request, so the answer is about the key.
 *
 * At most one check per entry per interval across every node (a shared counter, with a per-node memo in front
 * so a burst of 403s costs no round trip each); a service without a check is never probed.
 */

export const PROBE_INTERVAL_MS = 60_000;
const PROBE_TIMEOUT_MS = 10_000;

export interface ProbeWallet {
  markInvalid(entryId: string, reason: string): Promise<unknown>;
}

export interface CredentialProberDeps {
  kv: KvStore;
  clock: Clock;
  logger: Logger;
  wallet: ProbeWallet;
  agents: UpstreamAgents;
  intervalMs?: number;
}

export type ProbeVerdict = 'invalid' | 'valid' | 'inconclusive' | 'skipped';

export class CredentialProber {
  /** entry id → when this node last started (or decided against) a check */
  private readonly lastProbe = new Map<string, number>();
  private readonly intervalMs: number;

  constructor(private readonly deps: CredentialProberDeps) {
    this.intervalMs = deps.intervalMs ?? PROBE_INTERVAL_MS;
  }

  /** Runs in the background; the request that raised the suspicion never waits for it. */
  suspect(entry: WalletEntryView, service: ServiceView, secret: string): void {
    if (!service.credentialCheck) return;
    void this.probe(entry, service, secret).catch((err) =>
      this.deps.logger.error({ err, entryId: entry.id, service: service.slug }, 'credential check failed unexpectedly'),
    );
  }

  async probe(entry: WalletEntryView, service: ServiceView, secret: string): Promise<ProbeVerdict> {
    const check = service.credentialCheck;
    if (!check || !(await this.mayProbe(entry.id))) return 'skipped';
    const signal = AbortSignal.timeout(Math.min(service.timeoutMs ?? PROBE_TIMEOUT_MS, PROBE_TIMEOUT_MS));
    let status: number | undefined;
    try {
      const url = buildUpstreamUrl(service.baseUrl, check.path, check.query);
      const sent = await forward(this.deps.agents, { service, secret, url, method: check.method, headers: {}, body: null, signal }, this.deps.clock.now());
      if (sent.kind === 'ok') sent.value.body.resume();
      status = sent.status;
    } catch (err) {
      this.deps.logger.warn({ entryId: entry.id, service: service.slug, reason: (err as Error).message }, 'credential check could not be made');
      return 'inconclusive';
    }
    const line = { entryId: entry.id, service: service.slug, check: `${check.method} ${check.path}`, upstreamStatus: status ?? null };
    if (status === 401 || status === 403) {
      this.deps.logger.error({ alert: 'wallet_entry_invalid', ...line }, 'the credential check refused a wallet entry; marked invalid');
      await this.deps.wallet.markInvalid(entry.id, `credential check ${status}`);
      return 'invalid';
    }
    const valid = status !== undefined && status >= 200 && status < 300;
    this.deps.logger.info(line, valid ? 'credential check passed: the upstream refusal was about the request' : 'credential check inconclusive');
    return valid ? 'valid' : 'inconclusive';
  }

  private async mayProbe(entryId: string): Promise<boolean> {
    const now = this.deps.clock.now();
    const last = this.lastProbe.get(entryId);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.lastProbe.set(entryId, now);
    if (this.lastProbe.size > 10_000) this.prune(now);
    try {
      const shared = await this.deps.kv.admit([{ key: `probe:${entryId}`, limit: 1, cost: 1, windowMs: this.intervalMs }], now);
      return shared.ok;
    } catch (err) {
      // the per-node memo still bounds it to one check per interval on this node
      this.deps.logger.warn({ entryId, reason: (err as Error).message }, 'credential check: shared rate limit unavailable; limiting per node');
      return true;
    }
  }

  private prune(now: number): void {
    for (const [id, at] of this.lastProbe) if (now - at >= this.intervalMs) this.lastProbe.delete(id);
  }
}
