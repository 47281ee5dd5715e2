import { EventEmitter } from 'node:events';
import { ClientWatch } from '../../src/llm/client-watch';

function response(finished: boolean) {
  return Object.assign(new EventEmitter(), { writableFinished: finished });
}

describe('ClientWatch', () => {
  it('reports a hang-up before the response finished, once, to every listener, late ones at once', () => {
    const res = response(false);
    const watch = new ClientWatch(res);
    const calls: string[] = [];
    watch.onAbort(() => calls.push('a'));
    watch.onAbort(() => calls.push('b'));
    expect(watch.aborted).toBe(false);
    res.emit('close');
    expect(watch.aborted).toBe(true);
    watch.onAbort(() => calls.push('late'));
    expect(calls).toEqual(['a', 'b', 'late']);
  });

  it('does not count the close after a fully written response', () => {
    const res = response(true);
    const watch = new ClientWatch(res);
    const listener = jest.fn();
    watch.onAbort(listener);
    res.emit('close');
    expect([watch.aborted, listener.mock.calls.length]).toEqual([false, 0]);
  });
});
