import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Money } from '../../../components/Money';
import { dollarsToMicro } from '../../../lib/format';
import { usePutPrice, type Price } from '../api/models';

/** Token prices (USD per million tokens); admins set or change one with the form below. */
export function PricesTable({ prices, services, canEdit }: { prices: Price[]; services: string[]; canEdit: boolean }) {
  const put = usePutPrice();
  const [f, setF] = useState({ model: '', service: services[0] ?? '', input: '', output: '' });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    put.mutate({ model: f.model, service: f.service || services[0], inputPerMTok: Number(f.input), outputPerMTok: Number(f.output) });
  };
  return (
    <>
      <table aria-label="Token prices">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Service</th>
            <th scope="col">Input per 1M tokens</th>
            <th scope="col">Output per 1M tokens</th>
            {canEdit && <th scope="col">Edit</th>}
          </tr>
        </thead>
        <tbody>
          {prices.map((p) => (
            <tr key={p.model}>
              <td className="mono">{p.model}</td>
              <td>{p.service}</td>
              <td>
                <Money micro={dollarsToMicro(p.inputPerMTok)} />
              </td>
              <td>
                <Money micro={dollarsToMicro(p.outputPerMTok)} />
              </td>
              {canEdit && (
                <td>
                  <button type="button" className="secondary" aria-label={`Edit the price of ${p.model}`} onClick={() => setF({ model: p.model, service: p.service, input: String(p.inputPerMTok), output: String(p.outputPerMTok) })}>
                    Edit
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {canEdit && (
        <form className="toolbar" onSubmit={submit} aria-label="Set a price">
          <TextField label="Model" required value={f.model} onChange={(e) => setF({ ...f, model: e.target.value })} />
          <SelectField label="Service" value={f.service} onChange={(e) => setF({ ...f, service: e.target.value })} options={services} />
          <TextField label="Input USD / 1M tokens" type="number" min={0} step="any" required value={f.input} onChange={(e) => setF({ ...f, input: e.target.value })} />
          <TextField label="Output USD / 1M tokens" type="number" min={0} step="any" required value={f.output} onChange={(e) => setF({ ...f, output: e.target.value })} />
          <button type="submit" disabled={put.isPending}>
            Save price
          </button>
        </form>
      )}
      <ErrorMessage error={put.error} />
    </>
  );
}
