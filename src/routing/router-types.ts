import type { AttemptSignal } from './attempt-signal';
import type { Service } from '../services/service';
import type { WalletEntry } from '../wallet/repository';
import type { Environment, PoolExclusion, PoolRequest, RoutableEntry, SkipReason } from './engine';

/** The contract between the router and the surfaces that call it (/proxy, /v1). */

/** A wallet entry as the wallet hands it out: no secret (the sealed form rides along, not enumerable). */
export type WalletEntryView = WalletEntry;
export type ServiceView = Pick<Service, 'slug' | 'kind' | 'baseUrl' | 'auth' | 'timeoutMs' | 'costPerCallMicros' | 'allowPrivate' | 'credentialCheck'> &
  Partial<Pick<Service, 'metadata'>>;

export interface RouteRequest {
  service: string;
  environment: Environment;
  model?: string | null;
  /** what one call consumes up front from an entry's quota, in each unit a quota may count */
  quotaCost: { requests: number; tokens: number; creditsMicros: number };
  /**
   * The gateway key's team: its own pool first, then the shared pool (unless it keeps to its own). None: the shared
   * pool only; a team's entries never serve a key outside the team.
   */
  team?: PoolRequest | null;
  /** upstream attempts at most (default 3) */
  maxAttempts?: number;
  /** only this wallet entry may serve (it holds the state the call refers to); no fallback to others */
  pinnedEntryId?: string;
  /**
   * Wallet entries this request may still mark invalid on its own word (default: one per `route` call). An alias
   * chain shares one across its targets, so one request never retires more than one entry.
   */
  invalidations?: { remaining: number };
}

export interface AttemptContext {
  entry: WalletEntryView;
  secret: string;
  service: ServiceView;
  /** 1 for the first attempt */
  attempt: number;
  /**
   * Aborted when the service's timeout elapses (until `attempt` returns), or by `stop()`. One signal per attempt
   * for the whole upstream request: a second controller chained to it costs more than the request's own parsing.
   */
  signal: AttemptSignal;
  /** aborts `signal` for a reason of the attempt's own (client gone, stream stopped); not counted as a timeout */
  stop(): void;
  /** true once the service's timeout has fired */
  readonly timedOut: boolean;
  /** when the entry's quota was admitted (pass to Router.settleQuota) */
  admittedAtMs: number;
}

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

export type RetryReason = 'rate_limited' | 'server_error' | 'timeout' | 'connection_error' | 'overloaded';

export type AttemptOutcome<T> =
  /**
   * any final answer, including upstream 4xx other than 429; `headers` steer (rate-limit headers). `credentialSuspect`
   * (a 401/403 to a request the client shaped): the answer goes back as is, and the router may run the service's
   * credential check on this one entry (rate-limited per entry); only that check's 401/403 marks it invalid.
   */
  | { kind: 'ok'; value: T; status?: number; headers?: UpstreamHeaders; credentialSuspect?: boolean }
  | {
      kind: 'retry';
      reason: RetryReason;
      status?: number;
      retryAfterMs?: number;
      headers?: UpstreamHeaders;
      /** what failed, for the log line: a system error code (ECONNREFUSED, UND_ERR_SOCKET…), never a message */
      cause?: string;
    }
  /**
   * The provider said the key itself is bad (a 401 on an LLM call, whose request the gateway shapes): the entry is
   * marked invalid (audited, alert logged) and the next candidate is tried. One invalidation per request at most:
   * a further one only asks for the credential check.
   */
  | { kind: 'invalid'; status: number };

export interface AttemptRecord {
  entryId: string;
  outcome: 'ok' | RetryReason | 'invalid' | 'unauthorized' | 'skipped';
  status?: number;
  reason?: string;
  /** a failed attempt's error code (see AttemptOutcome 'retry') */
  cause?: string;
}

export interface RouteResult<T> {
  value: T;
  entry: WalletEntryView;
  attempts: number;
  /** short, for the x-keywallet-route header */
  decision: string;
  /** every entry considered, in order, with what happened */
  trail: AttemptRecord[];
}

export interface ExplainedCandidate {
  id: string;
  label: string;
  tier: RoutableEntry['tier'];
  priority: number;
  weight: number;
  why: string;
  quota: { limit: number; unit: string; period: string; used: number } | null;
}

export interface Explanation {
  service: string;
  environment: Environment;
  model: string | null;
  candidates: ExplainedCandidate[];
  skipped: { id: string; label: string; reason: SkipReason; until?: string }[];
  /** the team the dry run routed for (null: a key in no team) */
  team: { id: string; ownPoolOnly: boolean } | null;
  /** entries of the service that are not this caller's pool (another team's; the shared pool for an own-pool-only team) */
  excluded: { id: string; label: string; reason: PoolExclusion }[];
  /** the same short decision the x-keywallet-route header would carry */
  decision: string;
}
