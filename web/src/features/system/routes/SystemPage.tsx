import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useSystemInfo } from '../api/system';

function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <>—</>;
  if (typeof value === 'object') return <code>{JSON.stringify(value)}</code>;
  return <>{String(value)}</>;
}

export default function SystemPage() {
  const info = useSystemInfo();
  return (
    <Page title="System">
      {info.isPending && <Loading />}
      <ErrorMessage error={info.error} />
      {info.data && (
        <>
          <table aria-label="Gateway">
            <tbody>
              {Object.entries(info.data)
                .filter(([k]) => k !== 'readiness')
                .map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>
                      <Value value={v} />
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
          {info.data.readiness && (
            <>
              <h2>
                Readiness: <span className={`badge ${info.data.readiness.status === 'ready' ? 'ok' : 'invalid'}`}>{info.data.readiness.status}</span>
              </h2>
              <table aria-label="Readiness checks">
                <thead>
                  <tr>
                    <th scope="col">Check</th>
                    <th scope="col">Result</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(info.data.readiness.checks ?? {}).map(([k, v]) => (
                    <tr key={k}>
                      <td>{k}</td>
                      <td>{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </Page>
  );
}
