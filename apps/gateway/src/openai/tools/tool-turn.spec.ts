import { Observable, Subject } from 'rxjs';
import type { CodexEvent } from '@app/codex-transport';
import { TOOL_CALL_GATHER_MS, ToolTurn, type TurnEvent } from './tool-turn';

const scope = { threadId: 'th', turnId: 'tu' };
const call = (callId: string): CodexEvent => ({ type: 'tool.call', ...scope, callId, name: 'f', arguments: '{}' });
const delta = (text: string): CodexEvent => ({ type: 'item.delta', ...scope, itemId: 'm', kind: 'text', delta: text });

describe('ToolTurn', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A turn whose codex events the test sends, counting subscriptions (leaving one interrupts a real turn). */
  function setup() {
    const codex = new Subject<CodexEvent>();
    let subscribed = 0;
    let unsubscribed = 0;
    const turn$ = new Observable<CodexEvent>((subscriber) => {
      subscribed++;
      const subscription = codex.subscribe(subscriber);
      return () => {
        unsubscribed++;
        subscription.unsubscribe();
      };
    });
    const hooks = { onCall: jest.fn(), onSettled: jest.fn(), onEnd: jest.fn() };
    const turn = new ToolTurn(turn$, hooks);
    return { codex, turn, hooks, counts: () => ({ subscribed, unsubscribed }) };
  }

  function read(turn: ToolTurn) {
    const got: TurnEvent[] = [];
    let done = false;
    let failed: unknown = null;
    const sub = turn.events().subscribe({
      next: (e) => got.push(e),
      complete: () => (done = true),
      error: (e: unknown) => (failed = e),
    });
    return { got, sub, done: () => done, failed: () => failed };
  }

  it('ends a response once the calls made together are in, keeps the turn, and the next reader goes on from there', () => {
    const { codex, turn, hooks, counts } = setup();
    const first = read(turn);
    codex.next(delta('a'));
    codex.next(call('c1'));
    jest.advanceTimersByTime(TOOL_CALL_GATHER_MS - 1);
    codex.next(call('c2')); // still gathering: the window starts again
    jest.advanceTimersByTime(TOOL_CALL_GATHER_MS - 1);
    expect(first.done()).toBe(false);
    jest.advanceTimersByTime(1);
    expect(first.done()).toBe(true);
    expect(first.got.map((e) => e.type)).toEqual(['item.delta', 'tool.call', 'tool.call', 'turn.suspended']);
    expect(first.got.at(-1)).toMatchObject({ callIds: ['c1', 'c2'] });
    expect(counts()).toEqual({ subscribed: 1, unsubscribed: 0 }); // the codex turn was not interrupted
    expect(hooks.onCall).toHaveBeenCalledTimes(2);
    expect([...turn.pending.keys()]).toEqual(['c1', 'c2']);

    // Results arrive before the next reader: kept for it.
    codex.next({ type: 'tool.resolved', ...scope, callId: 'c1', reason: 'answered' });
    codex.next({ type: 'tool.resolved', ...scope, callId: 'c2', reason: 'answered' });
    expect(hooks.onSettled.mock.calls).toEqual([['c1'], ['c2']]);
    const second = read(turn);
    codex.next(delta('b'));
    codex.next({ type: 'turn.completed', ...scope, status: 'completed', error: null });
    codex.complete();
    expect(second.got.map((e) => e.type)).toEqual(['tool.resolved', 'tool.resolved', 'item.delta', 'turn.completed']);
    expect(second.done()).toBe(true);
    expect(turn.isOver).toBe(true);
    expect(hooks.onEnd).toHaveBeenCalledTimes(1);
  });

  it('a reader that leaves while codex works for it interrupts the turn; one that leaves while it waits on calls does not', () => {
    const waiting = setup();
    const r1 = read(waiting.turn);
    waiting.codex.next(call('c1'));
    r1.sub.unsubscribe(); // gone inside the gather window: the call still waits for its result
    expect(waiting.counts().unsubscribed).toBe(0);

    const working = setup();
    const r2 = read(working.turn);
    working.codex.next(delta('a'));
    r2.sub.unsubscribe();
    expect(working.counts().unsubscribed).toBe(1);
  });

  it('one reader at a time', () => {
    const { turn } = setup();
    read(turn);
    const second = read(turn);
    expect(second.failed()).toMatchObject({ kind: 'conflict' });
  });
});
