import { useState, type FormEvent } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { DateTime } from '../../../components/DateTime';
import { SelectField, TextField } from '../../../components/Field';
import { useExplain, useServiceSlugs } from '../api/routing';

/** The routing decision as a dry run: the wallet entries a request would try, in order, each with why. */
export default function RoutingPage() {
  const services = useServiceSlugs().data?.data ?? [];
  const [form, setForm] = useState({ service: '', model: '', environment: 'live' as 'live' | 'test' });
  const [query, setQuery] = useState<{ service: string; model?: string; environment: 'live' | 'test' } | null>(null);
  const explain = useExplain(query);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQuery({ service: form.service || services[0]?.slug, environment: form.environment, ...(form.model.trim() ? { model: form.model.trim() } : {}) });
  };
  const x = explain.data;
  return (
    <Page title="Routing">
      <form className="toolbar" onSubmit={submit} aria-label="Explain routing">
        <SelectField label="Service" value={form.service} onChange={(e) => setForm({ ...form, service: e.target.value })} options={services.map((s) => s.slug)} />
        <TextField label="Model (optional)" value={form.model} onChange={(e) => setForm({ ...form, model: e.target.value })} />
        <SelectField label="Environment" value={form.environment} onChange={(e) => setForm({ ...form, environment: e.target.value as 'live' })} options={['live', 'test']} />
        <button type="submit">Explain</button>
      </form>
      {explain.isFetching && <Loading />}
      <ErrorMessage error={explain.error} />
      {x && (
        <section aria-labelledby="decision">
          <h2 id="decision">
            {x.service}
            {x.model ? ` · ${x.model}` : ''} ({x.environment})
          </h2>
          <p className="mono small">{x.decision}</p>
          {x.candidates.length === 0 ? (
            <p role="status">No wallet entry can take this request now.</p>
          ) : (
            <ol aria-label="Candidates in the order they would be tried">
              {x.candidates.map((c) => (
                <li key={c.id}>
                  <strong>{c.label}</strong> — {c.tier}, priority {c.priority}, weight {c.weight}
                  {c.quota && ` · quota ${c.quota.used} of ${c.quota.limit} ${c.quota.unit} this ${c.quota.period}`}
                  <div className="muted">{c.why}</div>
                </li>
              ))}
            </ol>
          )}
          {x.skipped.length > 0 && (
            <>
              <h3>Passed over</h3>
              <ul aria-label="Entries passed over">
                {x.skipped.map((s) => (
                  <li key={s.id}>
                    <strong>{s.label}</strong>: {s.reason.replace(/_/g, ' ')}
                    {s.until && (
                      <>
                        {' '}
                        until <DateTime value={s.until} />
                      </>
                    )}
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
    </Page>
  );
}
