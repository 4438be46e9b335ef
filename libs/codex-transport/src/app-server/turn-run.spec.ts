import { Observable } from 'rxjs';
import type { CodexEvent } from '../events';
import { TurnRun } from './turn-run';

function run(feed: (run: TurnRun) => void): Promise<CodexEvent[]> {
  return new Promise((resolve) => {
    const events: CodexEvent[] = [];
    new Observable<CodexEvent>((subscriber) => {
      const r = new TurnRun('th', subscriber);
      r.setTurnId('tu');
      feed(r);
    }).subscribe({ next: (e) => events.push(e), complete: () => resolve(events) });
  });
}

const usage = (input: number, output: number) => ({
  tokenUsage: {
    total: {},
    last: {
      inputTokens: input,
      cachedInputTokens: 1,
      outputTokens: output,
      reasoningOutputTokens: 0,
      totalTokens: input + output,
    },
  },
});

describe('TurnRun', () => {
  it('maps notifications to normalized events and sums usage over every model request', async () => {
    const events = await run((r) => {
      r.handleNotification('turn/started', { threadId: 'th', turn: { id: 'tu' } });
      r.handleNotification('item/started', { item: { type: 'agentMessage', id: 'm1', text: '' } });
      r.handleNotification('item/agentMessage/delta', { itemId: 'm1', delta: 'Hi ' });
      r.handleNotification('item/agentMessage/delta', { itemId: 'm1', delta: '' });
      r.handleNotification('item/agentMessage/delta', { itemId: 'm1', delta: 'there' });
      r.handleNotification('item/completed', { item: { type: 'agentMessage', id: 'm1', text: 'Hi there' } });
      r.handleNotification('thread/tokenUsage/updated', usage(10, 2));
      r.handleNotification('thread/tokenUsage/updated', usage(30, 5));
      r.handleNotification('turn/completed', { threadId: 'th', turn: { id: 'tu', status: 'completed', error: null } });
    });
    expect(events.map((e) => e.type)).toEqual([
      'turn.started',
      'item.started',
      'item.delta',
      'item.delta',
      'item.completed',
      'usage',
      'turn.completed',
    ]);
    expect(events.find((e) => e.type === 'usage')).toMatchObject({
      usage: { inputTokens: 40, cachedInputTokens: 2, outputTokens: 7, totalTokens: 47 },
    });
    expect(events.at(-1)).toMatchObject({ status: 'completed', error: null, threadId: 'th', turnId: 'tu' });
  });

  it('closes items codex left open when the turn is interrupted', async () => {
    const events = await run((r) => {
      r.handleNotification('item/started', { item: { type: 'agentMessage', id: 'm1', text: '' } });
      r.handleNotification('item/agentMessage/delta', { itemId: 'm1', delta: 'part' });
      r.handleNotification('item/started', {
        item: { type: 'commandExecution', id: 'c1', command: 'ls', status: 'inProgress', aggregatedOutput: '' },
      });
      r.handleNotification('turn/completed', { turn: { id: 'tu', status: 'interrupted' } });
    });
    const closed = events.filter((e) => e.type === 'item.completed');
    expect(closed.map((e) => (e as { item: { id: string } }).item.id)).toEqual(['m1', 'c1']);
    expect(closed[1]).toMatchObject({ item: { status: 'failed' } });
    expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'interrupted' });
  });

  it('reports a failed turn with its provider message, and retry errors as error events', async () => {
    const events = await run((r) => {
      r.handleNotification('error', { error: { message: 'Reconnecting... 1/2' }, willRetry: true });
      r.handleNotification('turn/completed', {
        turn: { id: 'tu', status: 'failed', error: { message: 'provider said no' } },
      });
    });
    expect(events[0]).toMatchObject({ type: 'error', message: 'Reconnecting... 1/2', willRetry: true });
    expect(events.at(-1)).toMatchObject({
      status: 'failed',
      error: { code: 'PROVIDER_ERROR', message: 'provider said no' },
    });
    expect(events.some((e) => e.type === 'usage')).toBe(false);
  });

  it('ends exactly once', async () => {
    const events = await run((r) => {
      r.finish('completed', null);
      r.finish('failed', { code: 'X', message: 'late' });
      r.handleNotification('turn/completed', { turn: { status: 'completed' } });
    });
    expect(events.filter((e) => e.type === 'turn.completed')).toHaveLength(1);
  });

  it('started settles when codex names the turn, or when the run ends without one', async () => {
    const settled = (r: TurnRun) => {
      const state = { settled: false };
      void r.started.then(() => (state.settled = true));
      return state;
    };
    const flush = () => new Promise((resolve) => setImmediate(resolve));
    const named = new TurnRun('th', null);
    const namedState = settled(named);
    await flush();
    expect(namedState.settled).toBe(false);
    named.setTurnId('tu');
    await flush();
    expect(namedState.settled).toBe(true);
    const refused = new TurnRun('th', null);
    const refusedState = settled(refused);
    refused.fail(new Error('thread busy'));
    await flush();
    expect(refusedState.settled).toBe(true);
  });
});
