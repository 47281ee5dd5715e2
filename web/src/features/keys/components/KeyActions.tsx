import { useState, type FormEvent } from 'react';
import { TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useRevokeKey, useRotateKey, type GatewayKey, type IssuedKey } from '../api/keys';

/** Rotate (with a grace period for the old secret) or revoke a key, each behind a small form of its own. */
export function KeyActions({ k, onRotated }: { k: GatewayKey; onRotated: (issued: IssuedKey) => void }) {
  const [open, setOpen] = useState<'none' | 'rotate' | 'revoke'>('none');
  const [grace, setGrace] = useState('3600');
  const [reason, setReason] = useState('');
  const rotate = useRotateKey();
  const revoke = useRevokeKey();
  if (k.status !== 'active') return null;
  const doRotate = (e: FormEvent) => {
    e.preventDefault();
    rotate.mutate({ id: k.id, gracePeriodSeconds: Number(grace), reason: reason || undefined }, { onSuccess: (issued) => (setOpen('none'), onRotated(issued)) });
  };
  const doRevoke = (e: FormEvent) => {
    e.preventDefault();
    revoke.mutate({ id: k.id, reason: reason || undefined }, { onSuccess: () => setOpen('none') });
  };
  return (
    <div>
      <div className="actions">
        <button type="button" className="secondary" aria-label={`Rotate ${k.name}`} onClick={() => setOpen(open === 'rotate' ? 'none' : 'rotate')}>
          Rotate
        </button>
        <button type="button" className="danger" aria-label={`Revoke ${k.name}`} onClick={() => setOpen(open === 'revoke' ? 'none' : 'revoke')}>
          Revoke
        </button>
      </div>
      {open === 'rotate' && (
        <form onSubmit={doRotate} aria-label={`Rotate ${k.name}`}>
          <TextField label="Grace period (seconds)" type="number" min={0} max={604800} required value={grace} onChange={(e) => setGrace(e.target.value)} hint="The old secret keeps working this long." />
          <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} />
          <ErrorMessage error={rotate.error} />
          <button type="submit" disabled={rotate.isPending}>
            Rotate now
          </button>
        </form>
      )}
      {open === 'revoke' && (
        <form onSubmit={doRevoke} aria-label={`Revoke ${k.name}`}>
          <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} />
          <p className="small">Every request with this key is refused from now on.</p>
          <ErrorMessage error={revoke.error} />
          <button type="submit" className="danger" disabled={revoke.isPending}>
            Revoke for good
          </button>
        </form>
      )}
    </div>
  );
}
