import { fireEvent, render, screen } from '@testing-library/react';
import { KeyRestrictionsForm, keyChanges, formStateOf } from '../EditKeyForm';
import type { GatewayKey } from '../../api/keys';

const key: GatewayKey = {
  id: '7b0c6f2e-4a55-4c0e-9e55-2f0f1f7b9a10',
  name: 'ci',
  userId: 'u1',
  environment: 'live',
  maskedKey: 'kw_live_…abcd',
  scopes: ['chat', 'models'],
  services: ['openai', 'anthropic'],
  models: null,
  allowedIps: ['10.0.0.0/8'],
  allowedReferrers: null,
  limits: { rpm: 60, rph: null, rpd: null, tpm: null },
  monthlyCredits: 25,
  lockedByAdmin: { scopes: ['chat', 'models'], services: ['openai', 'anthropic'], limits: { rpm: 60 }, monthlyCredits: 25 },
  status: 'active',
  expiresAt: null,
  revokedAt: null,
  revokedReason: null,
  lastUsedAt: null,
  createdAt: '2026-01-01T00:00:00Z',
  replacedBy: null,
  rotatedFrom: null,
};

describe('key restrictions form', () => {
  it('sends only what changed; an emptied restriction is cleared (null)', () => {
    const f = formStateOf(key);
    expect(keyChanges(key, f)).toEqual({});
    expect(keyChanges(key, { ...f, services: 'openai', ips: '', credits: '10.5' })).toEqual({ services: ['openai'], allowedIps: null, monthlyCredits: 10.5 });
    expect(keyChanges(key, { ...f, limits: { ...f.limits, rpm: '30', tpm: '1000' } })).toEqual({ limits: { rpm: 30, rph: null, rpd: null, tpm: 1000 } });
    expect(keyChanges(key, { ...f, limits: { rpm: '', rph: '', rpd: '', tpm: '' } })).toEqual({ limits: null });
    expect(keyChanges(key, { ...f, scopes: ['models', 'chat'] })).toEqual({});
    expect(keyChanges(key, { ...f, expiresAt: '2030-01-02T03:04' }).expiresAt).toBe(new Date('2030-01-02T03:04').toISOString());
  });

  it("shows an owner what the admin locked and keeps the controls inside the locks", () => {
    const onSubmit = jest.fn();
    render(<KeyRestrictionsForm k={key} isAdmin={false} onSubmit={onSubmit} onCancel={() => {}} />);
    expect(screen.getByText('Scopes (locked by an administrator)')).toBeTruthy();
    // scopes outside the lock cannot be ticked; those inside can be narrowed
    expect((screen.getByLabelText('proxy') as HTMLInputElement).disabled).toBe(true);
    expect((screen.getByLabelText('embeddings') as HTMLInputElement).disabled).toBe(true);
    expect((screen.getByLabelText('chat') as HTMLInputElement).disabled).toBe(false);
    expect(screen.getByText('Locked by an administrator: only within openai, anthropic')).toBeTruthy();
    expect(screen.getByText('Locked by an administrator: at most $25')).toBeTruthy();
    expect((screen.getByLabelText('Requests per minute') as HTMLInputElement).max).toBe('60');
    expect((screen.getByLabelText('Monthly credits (USD)') as HTMLInputElement).max).toBe('25');
    // unlocked fields say what empty means instead
    expect(screen.getByText('Aliases or service/model, comma-separated; empty = any.')).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Services'), { target: { value: 'openai' } });
    fireEvent.click(screen.getByLabelText('models'));
    fireEvent.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenCalledWith({ scopes: ['chat'], services: ['openai'] });
  });

  it('lets an admin change any field and says it locks them for the owner', () => {
    const onSubmit = jest.fn();
    render(<KeyRestrictionsForm k={key} isAdmin onSubmit={onSubmit} onCancel={() => {}} />);
    expect(screen.getByText(/What you set here is locked for the key’s owner/).textContent).toContain('Locked now: limits, monthlyCredits, scopes, services.');
    expect((screen.getByLabelText('proxy') as HTMLInputElement).disabled).toBe(false);
    expect((screen.getByLabelText('Requests per minute') as HTMLInputElement).max).toBe('');
    fireEvent.click(screen.getByLabelText('proxy'));
    fireEvent.change(screen.getByLabelText('Requests per minute'), { target: { value: '600' } });
    fireEvent.submit(screen.getByRole('form', { name: 'Edit ci' }));
    expect(onSubmit).toHaveBeenCalledWith({ scopes: ['chat', 'models', 'proxy'], limits: { rpm: 600, rph: null, rpd: null, tpm: null } });
  });

  it('says so when nothing changed, and shows the API’s refusal in its words', () => {
    const onSubmit = jest.fn();
    const { ApiError } = jest.requireActual('../../../../lib/api/client');
    const refusal = new ApiError(403, 'forbidden', 'An administrator set services on this key; you may only narrow it');
    render(<KeyRestrictionsForm k={key} isAdmin={false} error={refusal} onSubmit={onSubmit} onCancel={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByRole('status').textContent).toBe('Nothing changed.');
    expect(screen.getByText(/you may only narrow it/)).toBeTruthy();
  });
});
