import { lastValueFrom, toArray } from 'rxjs';
import { CodexErrorCode, type CodexEvent } from '@app/codex-transport';
import { agentText, codexPidsWith, createHarness, type Harness, until } from './support/harness';

/** The tenant pool: one process and CODEX_HOME per tenant, caps, idle reaping. */
describe('tenant pool (real codex)', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await createHarness('pool', { maxSessions: 2, maxRunningTurnsPerTenant: 1, idleTimeoutMs: 0 });
  });

  afterEach(async () => {
    await h.close();
  });

  it('gives each tenant its own process and CODEX_HOME, and caps live processes', async () => {
    const a = await h.transport.startThread('alice');
    const b = await h.transport.startThread('bob');
    const pids = h.transport.processes().map((p) => p.pid);
    expect(new Set(pids).size).toBe(2);
    expect(h.transport.homeOf('alice')).toMatch(/users\/alice$/);
    expect(h.transport.homeOf('bob')).toMatch(/users\/bob$/);
    // Threads are looked up only inside their own tenant.
    await expect(h.transport.readThread('bob', a.thread.id)).rejects.toMatchObject({
      code: CodexErrorCode.THREAD_NOT_FOUND,
    });
    expect((await h.transport.readThread('bob', b.thread.id)).id).toBe(b.thread.id);
    // Both busy (an open stream each): a third tenant is refused.
    const releaseAlice = h.transport.holdStream('alice');
    const releaseBob = h.transport.holdStream('bob');
    await expect(h.transport.startThread('carol')).rejects.toMatchObject({ code: CodexErrorCode.POOL_FULL });
    // Once one is idle past the idle timeout (0 here), it makes room for the newcomer at once.
    releaseAlice();
    await h.transport.startThread('carol');
    expect(
      h.transport
        .processes()
        .map((p) => p.tenant)
        .sort(),
    ).toEqual(['bob', 'carol']);
    releaseBob();
  });

  it('caps running turns per tenant', async () => {
    const one = await h.transport.startThread('alice');
    const two = await h.transport.startThread('alice');
    const first = h.transport.runTurn('alice', {
      threadId: one.thread.id,
      input: [{ type: 'text', text: '[[slow: 50]] a' }],
    });
    const all = lastValueFrom(first.pipe(toArray()));
    await until(() => h.transport.stats().runningTurns === 1);
    await expect(
      lastValueFrom(h.transport.runTurn('alice', { threadId: two.thread.id, input: [{ type: 'text', text: 'b' }] })),
    ).rejects.toMatchObject({ code: CodexErrorCode.TOO_MANY_TURNS });
    expect((await all).at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' });
  });

  it('reaps idle processes, never one with a running turn, a pending approval or an open stream', async () => {
    const busy = await h.transport.startThread('alice');
    await h.transport.startThread('bob');
    const running = h.transport.runTurn('alice', {
      threadId: busy.thread.id,
      input: [{ type: 'text', text: '[[slow: 40]] still going' }],
    });
    const done = lastValueFrom(running.pipe(toArray()));
    await until(() => h.transport.stats().runningTurns === 1);
    expect(await h.transport.reapIdle()).toEqual(['bob']);
    expect(h.transport.processes().map((p) => p.tenant)).toEqual(['alice']);
    await done;

    // A held stream protects the tenant too.
    const release = h.transport.holdStream('alice');
    expect(await h.transport.reapIdle()).toEqual([]);
    release();

    // So does an approval nobody has answered yet.
    const asking = await h.transport.startThread('alice', { approvalPolicy: 'untrusted' });
    const turn = h.transport.runTurn('alice', {
      threadId: asking.thread.id,
      input: [{ type: 'text', text: '[[shell: echo waiting]]' }],
    });
    const events: CodexEvent[] = [];
    const finished = new Promise<void>((resolve) => turn.subscribe({ next: (e) => events.push(e), complete: resolve }));
    await until(() => h.transport.listApprovals('alice').length === 1);
    expect(await h.transport.reapIdle()).toEqual([]);
    h.transport.respondToApproval('alice', h.transport.listApprovals('alice')[0].id, 'decline');
    await finished;

    const pid = h.transport.processes()[0].pid!;
    expect(await h.transport.reapIdle()).toEqual(['alice']);
    expect(codexPidsWith(h.dataDir)).not.toContain(pid);
  });

  it("a reaped tenant's threads resume transparently on the next request", async () => {
    const { thread } = await h.transport.startThread('alice');
    await lastValueFrom(
      h.transport
        .runTurn('alice', { threadId: thread.id, input: [{ type: 'text', text: 'note the word kiwi' }] })
        .pipe(toArray()),
    );
    expect(await h.transport.reapIdle()).toEqual(['alice']);
    const events = await lastValueFrom(
      h.transport
        .runTurn('alice', { threadId: thread.id, input: [{ type: 'text', text: '[[memory]]' }] })
        .pipe(toArray()),
    );
    expect(agentText(events)).toContain('1) "note the word kiwi"');
  });

  it('interrupts a running turn by id (and refuses a wrong turn id)', async () => {
    const { thread } = await h.transport.startThread('alice');
    const turn = h.transport.runTurn('alice', { threadId: thread.id, input: [{ type: 'text', text: '[[slow]] go' }] });
    const events: CodexEvent[] = [];
    const finished = new Promise<void>((resolve) => turn.subscribe({ next: (e) => events.push(e), complete: resolve }));
    const started = await waitForEvent(events, 'item.delta');
    await expect(h.transport.interruptTurn('alice', thread.id, 'not-the-turn')).rejects.toMatchObject({
      code: CodexErrorCode.TURN_NOT_FOUND,
    });
    await expect(h.transport.interruptTurn('bob', thread.id, started.turnId)).rejects.toMatchObject({
      code: CodexErrorCode.TURN_NOT_FOUND,
    });
    await h.transport.interruptTurn('alice', thread.id, started.turnId);
    await finished;
    expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'interrupted' });
  });
});

/** Polls a condition; gives up after 15 s so a broken test fails instead of keeping Jest alive. */
async function waitForEvent(events: CodexEvent[], type: 'item.delta') {
  await until(() => events.some((e) => e.type === type));
  return events.find((e) => e.type === type) as Extract<CodexEvent, { type: 'item.delta' }>;
}
