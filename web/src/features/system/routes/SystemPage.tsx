import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { DateTime } from '../../../components/DateTime';
import { formatNumber } from '../../../lib/format';
import { useSystemInfo } from '../api/system';

function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${formatNumber(seconds % 60)} s`;
}

export default function SystemPage() {
  const info = useSystemInfo();
  const s = info.data;
  return (
    <Page title="System">
      {info.isPending && <Loading />}
      <ErrorMessage error={info.error} />
      {s && (
        <>
          <table aria-label="This gateway node">
            <tbody>
              <tr>
                <th scope="row">Version</th>
                <td>{s.version}</td>
              </tr>
              {s.node && (
                <tr>
                  <th scope="row">Node.js</th>
                  <td>{s.node}</td>
                </tr>
              )}
              {s.backends && (
                <tr>
                  <th scope="row">Backends</th>
                  <td>
                    database {s.backends.database === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'}, counters {s.backends.store === 'memory' ? 'in-process' : 'Redis'}
                  </td>
                </tr>
              )}
              {s.uptimeSeconds !== undefined && (
                <tr>
                  <th scope="row">Up for</th>
                  <td>
                    {uptime(s.uptimeSeconds)} (since <DateTime value={s.startedAt} />)
                  </td>
                </tr>
              )}
              {s.masterKeys && (
                <tr>
                  <th scope="row">Master keys</th>
                  <td>
                    current version {s.masterKeys.current}; readable versions {s.masterKeys.versions.join(', ')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          <h2>
            Readiness: <span className={`badge ${s.ready ? 'ok' : 'invalid'}`}>{s.ready ? 'ready' : 'not ready'}</span>
          </h2>
          <table aria-label="Readiness checks">
            <thead>
              <tr>
                <th scope="col">Dependency</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(s.checks).map(([k, v]) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td className={v === 'ok' ? 'ok' : 'error'}>{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Page>
  );
}
