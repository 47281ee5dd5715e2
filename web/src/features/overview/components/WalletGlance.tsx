import { Link } from 'react-router';
import { QuotaBar } from '../../../components/QuotaBar';
import { DateTime } from '../../../components/DateTime';
import { formatNumber } from '../../../lib/format';
import type { WalletHealth } from '../api/overview';

const percent = (share: number | null) => (share === null ? '—' : `${Math.round(share * 100)} %`);

function secondsLeft(s: number): string {
  if (s < 60) return `${s} s left`;
  return `${Math.floor(s / 60)} min ${s % 60} s left`;
}

/** The wallet at a glance: invalid entries, cooldowns with time left, quotas used, free vs paid share. */
export function WalletGlance({ health }: { health: WalletHealth }) {
  const invalid = health.entries.filter((e) => e.status === 'invalid');
  const cooling = health.entries.filter((e) => e.cooldown);
  const withQuota = health.entries.filter((e) => e.quota && e.quota.used !== undefined);
  const { requests, freeShare } = health.last24h;
  return (
    <section className="panel" aria-labelledby="wallet-glance">
      <h2 id="wallet-glance">Wallet health</h2>
      <dl className="stats">
        <div>
          <dt>Entries</dt>
          <dd>{formatNumber(health.counts.total)}</dd>
        </div>
        <div>
          <dt>Invalid</dt>
          <dd className={invalid.length ? 'error' : undefined}>{formatNumber(health.counts.byStatus.invalid)}</dd>
        </div>
        <div>
          <dt>Cooling down</dt>
          <dd>{formatNumber(health.counts.coolingDown)}</dd>
        </div>
        <div>
          <dt>Free share, last 24 h</dt>
          <dd>
            {percent(freeShare)}{' '}
            <span className="small muted">
              ({formatNumber(requests.free)} free, {formatNumber(requests.paid)} paid requests)
            </span>
          </dd>
        </div>
        <div>
          <dt>To rewrap</dt>
          <dd>
            {formatNumber(health.keyVersions.toRewrap)} <span className="small muted">(current master key v{health.keyVersions.current})</span>
          </dd>
        </div>
      </dl>
      {invalid.length > 0 && (
        <>
          <h3>Invalid entries</h3>
          <ul>
            {invalid.map((e) => (
              <li key={e.id}>
                <strong>{e.label}</strong> ({e.service}, {e.secretHint}): {e.statusReason ?? 'invalid'}
              </li>
            ))}
          </ul>
        </>
      )}
      {cooling.length > 0 && (
        <>
          <h3>Cooling down</h3>
          <ul>
            {cooling.map((e) => (
              <li key={e.id}>
                <strong>{e.label}</strong> ({e.service}): {secondsLeft(e.cooldown!.secondsLeft)}, until <DateTime value={e.cooldown!.until} />
              </li>
            ))}
          </ul>
        </>
      )}
      {withQuota.length > 0 && (
        <>
          <h3>Quota used this period</h3>
          <ul className="quota-list">
            {withQuota.map((e) => (
              <li key={e.id}>
                <span>{e.label}</span>{' '}
                <QuotaBar used={e.quota!.used!} limit={e.quota!.limit} unit={e.quota!.unit} period={e.quota!.period} />
              </li>
            ))}
          </ul>
        </>
      )}
      <p className="small">
        <Link to="/wallet">Manage the wallet</Link>
      </p>
    </section>
  );
}
