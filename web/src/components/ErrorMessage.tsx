import { ApiError } from '../lib/api/client';

/** An error in the API's own words, with its code and request id for a bug report. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const details = api?.details as { issues?: { path?: string; message?: string }[] } | null;
  return (
    <div role="alert" className="error">
      <p>{error instanceof Error ? error.message : String(error)}</p>
      {details?.issues?.length ? (
        <ul>
          {details.issues.map((issue, i) => (
            <li key={i}>{issue.path ? `${issue.path}: ${issue.message}` : issue.message}</li>
          ))}
        </ul>
      ) : null}
      {api && (
        <p className="muted small">
          {api.status} {api.code}
          {api.requestId ? ` · request ${api.requestId}` : ''}
        </p>
      )}
    </div>
  );
}
