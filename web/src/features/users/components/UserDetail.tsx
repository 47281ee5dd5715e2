import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Money } from '../../../components/Money';
import { dollarsToMicro, parseDollarsToMicro } from '../../../lib/format';
import { useBalance, usePlanIds, useTopUp, useUpdateUser, type User } from '../api/users';

/** One user's settings: role, plan, disabled, a password reset (they must change it at next sign-in), credit top-ups. */
export function UserDetail({ user }: { user: User }) {
  const update = useUpdateUser();
  const topUp = useTopUp();
  const balance = useBalance(user.id);
  const plans = usePlanIds().data?.data ?? [];
  const [password, setPassword] = useState('');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [amountError, setAmountError] = useState('');
  const [done, setDone] = useState('');

  const reset = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ id: user.id, body: { password } }, { onSuccess: () => (setPassword(''), setDone('Password reset: the user must choose a new one at their next sign-in.')) });
  };
  const grant = (e: FormEvent) => {
    e.preventDefault();
    const micro = parseDollarsToMicro(amount);
    if (micro === null || micro === 0) return setAmountError('Give an amount in dollars, e.g. 25 or 0.5 (up to 6 decimals), not 0.');
    setAmountError('');
    topUp.mutate({ id: user.id, amount: micro / 1_000_000, reason }, { onSuccess: () => (setAmount(''), setReason(''), setDone('Credits added.')) });
  };
  const b = balance.data;
  return (
    <div className="panel">
      <h3>{user.email}</h3>
      <div className="form-grid">
        <SelectField label="Role" value={user.role} onChange={(e) => update.mutate({ id: user.id, body: { role: e.target.value as User['role'] } })} options={['developer', 'analyst', 'admin']} />
        <SelectField label="Plan" value={user.plan} onChange={(e) => update.mutate({ id: user.id, body: { plan: e.target.value } })} options={plans.map((p) => ({ value: p.id, label: p.name || p.id }))} />
      </div>
      <div className="actions">
        <button type="button" className={user.disabled ? '' : 'danger'} onClick={() => update.mutate({ id: user.id, body: { disabled: !user.disabled } })}>
          {user.disabled ? 'Enable user' : 'Disable user'}
        </button>
      </div>
      <form onSubmit={reset} aria-label={`Reset the password of ${user.email}`}>
        <TextField label="New temporary password" type="password" autoComplete="new-password" minLength={12} required value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" className="secondary" disabled={update.isPending}>
          Reset password
        </button>
      </form>
      <ErrorMessage error={update.error} />
      <h4>Credits this month</h4>
      <ErrorMessage error={balance.error} />
      {b && (
        <p>
          Spent <Money micro={dollarsToMicro(b.spent)} /> of {b.allowance === null ? 'an unlimited allowance' : <Money micro={dollarsToMicro(b.allowance)} />} (plan{' '}
          {b.planAllowance === null ? 'unlimited' : <Money micro={dollarsToMicro(b.planAllowance)} />}, top-ups <Money micro={dollarsToMicro(b.topUps)} />)
        </p>
      )}
      <form onSubmit={grant} aria-label={`Top up the credits of ${user.email}`}>
        <div className="form-grid">
          <TextField label="Amount (USD)" inputMode="decimal" required value={amount} onChange={(e) => setAmount(e.target.value)} hint="Negative takes back a mistaken top-up." />
          <TextField label="Reason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
        </div>
        {amountError && (
          <p role="alert" className="error">
            {amountError}
          </p>
        )}
        <ErrorMessage error={topUp.error} />
        <button type="submit" disabled={topUp.isPending}>
          Add credits
        </button>
      </form>
      {done && (
        <p role="status" className="ok">
          {done}
        </p>
      )}
    </div>
  );
}
