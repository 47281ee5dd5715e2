import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { SortableChain } from './SortableChain';
import { useDeleteAlias, usePutAlias, type Alias, type AliasTarget } from '../api/models';

/**
 * An alias's fallback chain, reordered by drag and drop (keyboard too) or up/down buttons, targets added and removed,
 * saved as a whole (PUT replaces the chain). The first target is tried first.
 */
export function AliasChainEditor({ alias, services, isNew, onDone }: { alias: Alias; services: string[]; isNew?: boolean; onDone?: () => void }) {
  const [name, setName] = useState(alias.alias);
  const [targets, setTargets] = useState<AliasTarget[]>(alias.targets);
  const [add, setAdd] = useState<AliasTarget>({ service: services[0] ?? '', model: '' });
  const put = usePutAlias();
  const remove = useDeleteAlias();
  const addTarget = (e: FormEvent) => {
    e.preventDefault();
    if (!add.model.trim()) return;
    setTargets([...targets, { service: add.service || services[0], model: add.model.trim() }]);
    setAdd({ ...add, model: '' });
  };
  const changed = JSON.stringify(targets) !== JSON.stringify(alias.targets) || isNew;
  return (
    <section className="panel" aria-label={`Alias ${alias.alias || 'new'}`}>
      {isNew ? <TextField label="Alias name" required value={name} onChange={(e) => setName(e.target.value)} /> : <h3>{alias.alias}</h3>}
      {alias.description && <p className="muted">{alias.description}</p>}
      <SortableChain targets={targets} onChange={setTargets} label={`Fallback chain of ${name || 'the new alias'}`} />
      <form className="toolbar" onSubmit={addTarget} aria-label={`Add a target to ${name || 'the new alias'}`}>
        <SelectField label="Target service" value={add.service} onChange={(e) => setAdd({ ...add, service: e.target.value })} options={services} />
        <TextField label="Target model" value={add.model} onChange={(e) => setAdd({ ...add, model: e.target.value })} />
        <button type="submit" className="secondary">
          Add target
        </button>
      </form>
      <ErrorMessage error={put.error ?? remove.error} />
      <div className="actions">
        <button type="button" disabled={!changed || targets.length === 0 || put.isPending} onClick={() => put.mutate({ alias: name, targets }, { onSuccess: onDone })}>
          Save chain
        </button>
        {!alias.builtin && !isNew && (
          <button type="button" className="danger" onClick={() => window.confirm(`Delete the alias ${alias.alias}?`) && remove.mutate(alias.alias)}>
            Delete alias
          </button>
        )}
        {isNew && (
          <button type="button" className="secondary" onClick={onDone}>
            Cancel
          </button>
        )}
      </div>
    </section>
  );
}
