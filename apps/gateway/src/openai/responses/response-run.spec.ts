import { Observable, Subject, throwError } from 'rxjs';
import { type CodexEvent, CodexErrorCode, CodexTransportError } from '@app/codex-transport';
import { ResponseBuilder } from './response-builder';
import { newResponseObject, type ResponseStreamEvent } from './response-object';
import { ResponseRun } from './response-run';

const T = { threadId: 'th', turnId: 'tu' };

function newRun(background: boolean) {
  const hooks = { started: [] as string[], finished: 0 };
  const response = newResponseObject({
    id: 'resp_1',
    model: 'm',
    instructions: null,
    previousResponseId: null,
    reasoning: undefined,
    store: true,
    background,
    metadata: {},
    request: {},
  });
  const run = new ResponseRun(new ResponseBuilder(response), background, {
    turnStarted: (turnId) => hooks.started.push(turnId),
    finished: () => hooks.finished++,
  });
  return { run, hooks };
}

/** A turn that runs until its subscriber leaves; `left` counts how often it was left. */
function openTurn() {
  const events = new Subject<CodexEvent>();
  const state = { left: 0 };
  const turn$ = new Observable<CodexEvent>((subscriber) => {
    const inner = events.subscribe(subscriber);
    return () => {
      state.left++;
      inner.unsubscribe();
    };
  });
  return { events, state, turn$ };
}

describe('ResponseRun', () => {
  it('a foreground client that leaves its stream cancels the run; the turn is left', async () => {
    const { run, hooks } = newRun(false);
    const { events, state, turn$ } = openTurn();
    await run.start(turn$);
    const seen: ResponseStreamEvent[] = [];
    const reading = run.stream().subscribe((e) => seen.push(e));
    events.next({ type: 'turn.started', ...T });
    reading.unsubscribe();
    expect(state.left).toBe(1);
    expect((await run.done).status).toBe('cancelled');
    expect(hooks).toEqual({ started: ['tu'], finished: 1 });
    expect(seen[0].type).toBe('response.created');
  });

  it('a background run goes on without its reader, and replays after a sequence number', async () => {
    const { run } = newRun(true);
    const { events, state, turn$ } = openTurn();
    await run.start(turn$);
    run.stream().subscribe().unsubscribe();
    expect(state.left).toBe(0);
    expect(run.finished).toBe(false);
    events.next({ type: 'turn.started', ...T });
    events.next({ type: 'turn.completed', ...T, status: 'completed', error: null });
    events.complete();
    expect((await run.done).status).toBe('completed');
    const all = run.events();
    const replayed: ResponseStreamEvent[] = [];
    run.eventsAfter(1).subscribe((e) => replayed.push(e));
    expect(replayed).toEqual(all.filter((e) => e.sequence_number > 1));
  });

  it('a turn refused before it begins rejects start(); the run ends without a finished hook', async () => {
    const { run, hooks } = newRun(false);
    const refusal = new CodexTransportError(CodexErrorCode.THREAD_BUSY, 'busy');
    await expect(run.start(throwError(() => refusal))).rejects.toBe(refusal);
    expect(run.finished).toBe(true);
    expect(hooks.finished).toBe(0);
  });

  it('a failed turn ends the run as failed and keeps why', async () => {
    const { run } = newRun(false);
    const { events, turn$ } = openTurn();
    await run.start(turn$);
    events.next({
      type: 'turn.completed',
      ...T,
      status: 'failed',
      error: { code: CodexErrorCode.PROVIDER_ERROR, message: 'provider said no' },
    });
    events.complete();
    expect((await run.done).status).toBe('failed');
    expect(run.failure?.message).toBe('provider said no');
  });
});
