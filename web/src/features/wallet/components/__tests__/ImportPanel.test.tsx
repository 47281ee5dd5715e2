import { fireEvent, render, screen } from '@testing-library/react';
import { ImportPanel } from '../ImportPanel';

const mutate = jest.fn();
jest.mock('../../api/wallet', () => ({
  useServiceList: () => ({ data: { data: [{ slug: 'openai', name: 'OpenAI', kind: 'llm', keyPattern: '^sk-', enabled: true }, { slug: 'anthropic', name: 'Anthropic', kind: 'llm', keyPattern: '^sk-ant-', enabled: true }] } }),
  useImportEntries: () => ({ mutate, reset: () => {}, isPending: false, data: undefined, error: null }),
}));

const SECRET = 'sk-proj-' + 'a1B2c3D4e5F6g7H8i9J0'.repeat(2) + 'WXYZ';

describe('bulk import preview', () => {
  beforeEach(() => mutate.mockReset());

  it('previews pasted JSON masked (last four characters), flags entries without a secret, then sends exactly it', () => {
    render(<ImportPanel onDone={() => {}} />);
    const text = JSON.stringify([{ secret: SECRET, label: 'team' }, { label: 'empty' }]);
    fireEvent.change(screen.getByLabelText('JSON array or dotenv lines'), { target: { value: text } });
    fireEvent.click(screen.getByRole('button', { name: 'Preview' }));
    const table = screen.getByRole('table', { name: 'Import preview' });
    expect(table.textContent).toContain('…WXYZ');
    expect(table.textContent).not.toContain(SECRET);
    expect(table.textContent).toContain('openai');
    expect(table.textContent).toContain('no secret');
    fireEvent.click(screen.getByRole('button', { name: 'Import 2 entries' }));
    expect(mutate).toHaveBeenCalledWith([{ secret: SECRET, label: 'team' }, { label: 'empty' }]);
  });

  it('previews dotenv lines and says what is wrong with text it cannot read', () => {
    render(<ImportPanel onDone={() => {}} />);
    const box = screen.getByLabelText('JSON array or dotenv lines');
    fireEvent.change(box, { target: { value: '[{"secret": ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Preview' }));
    expect(screen.getByRole('alert').textContent).toMatch(/^Not valid JSON/);
    expect(screen.queryByRole('button', { name: /^Import \d/ })).toBeNull();
    fireEvent.change(box, { target: { value: `OPENAI_API_KEY=${SECRET}\n` } });
    fireEvent.click(screen.getByRole('button', { name: 'Preview' }));
    expect(screen.getByRole('table', { name: 'Import preview' }).textContent).toContain('…WXYZ');
    expect(screen.getByRole('button', { name: 'Import 1 entry' })).toBeTruthy();
  });
});
