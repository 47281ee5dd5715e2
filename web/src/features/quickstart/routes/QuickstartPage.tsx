import { Link, useLocation } from 'react-router';
import { Page } from '../../../components/Page';
import { CopyButton } from '../../../components/CopyButton';
import { snippets } from '../components/snippets';

const PLACEHOLDER = 'kw_live_…your key…';

/** Snippets for every client, filled with this gateway's origin and the key just created (kept in memory only). */
export default function QuickstartPage() {
  const state = useLocation().state as { key?: string } | null;
  const key = state?.key ?? PLACEHOLDER;
  return (
    <Page title="Quickstart">
      {state?.key ? (
        <p className="notice">These snippets hold the key you just created. Leaving this page forgets it.</p>
      ) : (
        <p>
          <Link to="/keys">Create a key</Link> to get these snippets filled with it; until then they show a placeholder.
        </p>
      )}
      {snippets(window.location.origin, key).map((s) => (
        <section key={s.id} aria-labelledby={`qs-${s.id}`}>
          <h2 id={`qs-${s.id}`}>{s.title}</h2>
          <pre tabIndex={0} aria-label={`${s.title} snippet`}>
            <code>{s.code}</code>
          </pre>
          <CopyButton value={s.code} label={`Copy the ${s.title} snippet`} />
        </section>
      ))}
    </Page>
  );
}
