import { useEffect, type ReactNode } from 'react';
import { mark } from '../lib/perf';

/** A page: its title (also the document title) and what it holds. */
export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Keywallet`;
    // for measuring (the browser tests read it): the first page heading on screen, its handlers attached
    mark('kw-first-page', { title }, { once: true });
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title" tabIndex={-1}>
          {title}
        </h1>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p role="status" className="muted">
      {what}…
    </p>
  );
}
