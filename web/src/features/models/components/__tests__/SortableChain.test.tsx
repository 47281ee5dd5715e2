import { act, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { SortableChain } from '../SortableChain';
import type { AliasTarget } from '../../api/models';

const START: AliasTarget[] = [
  { service: 'openai', model: 'gpt-4o' },
  { service: 'anthropic', model: 'claude-sonnet' },
  { service: 'openai', model: 'gpt-4o-mini' },
];

function Harness({ onChange }: { onChange: (t: AliasTarget[]) => void }) {
  const [targets, setTargets] = useState(START);
  return <SortableChain label="Fallback chain of smart" targets={targets} onChange={(t) => (setTargets(t), onChange(t))} />;
}

/** dnd-kit attaches its keyboard listeners and measures after a timer / animation frame, not synchronously */
const settle = () => new Promise((r) => setTimeout(r, 30));

const order = () => screen.getAllByRole('listitem').map((li) => li.getAttribute('data-target'));

// jsdom lays nothing out: give each row a box (40 px apart) so dnd-kit's keyboard sensor can find its neighbours
beforeAll(() => {
  jest.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockImplementation(function (this: HTMLElement) {
    const li = this.closest('li');
    const items = li ? Array.from(li.parentElement!.children) : [];
    const top = li ? items.indexOf(li) * 40 : 0;
    return { x: 0, y: top, top, left: 0, right: 300, bottom: top + 30, width: 300, height: 30, toJSON() {} } as DOMRect;
  });
});

describe('alias chain reordering', () => {
  it('moves a target with the keyboard through the drag handle (Space, arrow, Space)', async () => {
    const onChange = jest.fn();
    render(<Harness onChange={onChange} />);
    const handle = screen.getByRole('button', { name: 'Drag openai/gpt-4o (position 1 of 3)' });
    handle.focus();
    await act(async () => {
      fireEvent.keyDown(handle, { code: 'Space', key: ' ' });
      await settle();
    });
    await act(async () => {
      fireEvent.keyDown(document.activeElement ?? handle, { code: 'ArrowDown', key: 'ArrowDown' });
      await settle();
    });
    await act(async () => {
      fireEvent.keyDown(document.activeElement ?? handle, { code: 'Space', key: ' ' });
      await settle();
    });
    expect(onChange).toHaveBeenLastCalledWith([START[1], START[0], START[2]]);
    expect(order()).toEqual(['anthropic/claude-sonnet', 'openai/gpt-4o', 'openai/gpt-4o-mini']);
  });

  it('moves with the up/down buttons and removes a target', () => {
    const onChange = jest.fn();
    render(<Harness onChange={onChange} />);
    expect((screen.getByRole('button', { name: 'Move openai/gpt-4o up' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Move openai/gpt-4o-mini up' }));
    expect(order()).toEqual(['openai/gpt-4o', 'openai/gpt-4o-mini', 'anthropic/claude-sonnet']);
    fireEvent.click(screen.getByRole('button', { name: 'Remove openai/gpt-4o' }));
    expect(onChange).toHaveBeenLastCalledWith([START[2], START[1]]);
    expect(screen.getByRole('button', { name: 'Drag openai/gpt-4o-mini (position 1 of 2)' })).toBeTruthy();
  });
});
