import { Money } from '../../../components/Money';
import { formatNumber, formatTokens } from '../../../lib/format';
import type { OverviewResponse } from '../api/overview';

/** The range's totals in words: what the charts add up to. */
export function Totals({ totals }: { totals: OverviewResponse['totals'] }) {
  return (
    <dl className="stats" aria-label="Totals">
      <div>
        <dt>Requests</dt>
        <dd>{formatNumber(totals.requests)}</dd>
      </div>
      <div>
        <dt>Spend</dt>
        <dd>
          <Money micro={totals.costMicros} />
        </dd>
      </div>
      <div>
        <dt>Error rate</dt>
        <dd>{(totals.errorRate * 100).toFixed(1)} %</dd>
      </div>
      <div>
        <dt>Average latency</dt>
        <dd>{formatNumber(totals.avgLatencyMs)} ms</dd>
      </div>
      <div>
        <dt>Tokens</dt>
        <dd>{formatTokens(totals.totalTokens)}</dd>
      </div>
    </dl>
  );
}
