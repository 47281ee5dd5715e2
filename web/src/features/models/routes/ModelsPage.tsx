import { useState } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useSession } from '../../../lib/session';
import { useAliases, usePrices, useServiceSlugs } from '../api/models';
import { AliasChainEditor } from '../components/AliasChainEditor';
import { PricesTable } from '../components/PricesTable';

export default function ModelsPage() {
  const isAdmin = useSession().data?.user.role === 'admin';
  const aliases = useAliases();
  const prices = usePrices();
  const services = (useServiceSlugs().data?.data ?? []).filter((s) => s.kind === 'llm').map((s) => s.slug);
  const [adding, setAdding] = useState(false);
  return (
    <Page title="Models" actions={isAdmin && <button type="button" onClick={() => setAdding(true)}>New alias</button>}>
      <h2>Aliases</h2>
      {adding && <AliasChainEditor alias={{ alias: '', targets: [], description: null, builtin: false }} services={services} isNew onDone={() => setAdding(false)} />}
      {aliases.isPending && <Loading />}
      <ErrorMessage error={aliases.error} />
      {aliases.data?.data.map((a) =>
        isAdmin ? (
          <AliasChainEditor key={`${a.alias}:${JSON.stringify(a.targets)}`} alias={a} services={services} />
        ) : (
          <section key={a.alias} className="panel" aria-label={`Alias ${a.alias}`}>
            <h3>{a.alias}</h3>
            <ol>
              {a.targets.map((t, i) => (
                <li key={i} className="mono">
                  {t.service}/{t.model}
                </li>
              ))}
            </ol>
          </section>
        ),
      )}
      <h2>Prices</h2>
      <ErrorMessage error={prices.error} />
      {prices.data && <PricesTable prices={prices.data.data} services={services} canEdit={isAdmin} />}
    </Page>
  );
}
