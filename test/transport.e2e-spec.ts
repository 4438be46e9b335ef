import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filter, firstValueFrom, ReplaySubject, take } from 'rxjs';
import { AppServerTransport, type ApprovalRequest, type CodexEvent, CodexErrorCode } from '@app/codex-transport';
import {
  agentText,
  baseChildEnv,
  codexPidsWith,
  collect,
  createHarness,
  type Harness,
  makeDataDir,
  survivingCodexProcesses,
  transportOptions,
  until,
} from './support/harness';

const T = 'default';

/** Subscribes and replays every event, so a test can await one event and still read them all later. */
function record(h: Harness, threadId: string, text: string, tenant = T) {
  const events = new ReplaySubject<CodexEvent>();
  let unsubscribe = () => undefined as void;
  const done = new Promise<CodexEvent[]>((resolve, reject) => {
    const seen: CodexEvent[] = [];
    const sub = h.transport.runTurn(tenant, { threadId, input: [{ type: 'text', text }] }).subscribe({
      next: (e) => {
        seen.push(e);
        events.next(e);
      },
      error: (err: unknown) => {
        events.error(err);
        reject(err);
      },
      complete: () => {
        events.complete();
        resolve(seen);
      },
    });
    unsubscribe = () => sub.unsubscribe();
  });
  const waitFor = <E extends CodexEvent['type']>(type: E) =>
    firstValueFrom(
      events.pipe(
        filter((e): e is Extract<CodexEvent, { type: E }> => e.type === type),
        take(1),
      ),
    );
  return { done, waitFor, unsubscribe: () => unsubscribe() };
}

function completed(events: CodexEvent[]) {
  const end = events.at(-1);
  expect(end?.type).toBe('turn.completed');
  return end as Extract<CodexEvent, { type: 'turn.completed' }>;
}

describe('AppServerTransport against the real codex binary', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await createHarness('transport', { approvalTimeoutMs: 1500 });
  });

  afterAll(async () => {
    await h.close();
  });

  it('streams a turn in order: started, deltas equal to the message, usage, completed', async () => {
    const { thread } = await h.transport.startThread(T);
    const events = await collect(
      h.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: 'Say hello' }] }),
    );
    const types = events.map((e) => e.type).filter((t) => t !== 'warning');
    expect(types[0]).toBe('turn.started');
    expect(types.slice(-2)).toEqual(['usage', 'turn.completed']);
    expect(completed(events).status).toBe('completed');

    const message = events.find((e) => e.type === 'item.completed' && e.item.type === 'agentMessage') as Extract<
      CodexEvent,
      { type: 'item.completed' }
    >;
    const deltas = events.filter(
      (e): e is Extract<CodexEvent, { type: 'item.delta' }> => e.type === 'item.delta' && e.kind === 'text',
    );
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.delta).join('')).toBe((message.item as { text: string }).text);
    expect((message.item as { text: string }).text).toBe('Hello from the offline provider. You said: Say hello');
    const firstDelta = events.indexOf(deltas[0]);
    expect(firstDelta).toBeGreaterThan(types.indexOf('turn.started'));
    expect(events.indexOf(message)).toBeGreaterThan(events.indexOf(deltas.at(-1)!));

    const usage = events.find((e) => e.type === 'usage') as Extract<CodexEvent, { type: 'usage' }>;
    expect(usage.usage.inputTokens).toBeGreaterThan(0);
    expect(usage.usage.outputTokens).toBeGreaterThan(0);
    expect(usage.usage.totalTokens).toBe(usage.usage.inputTokens + usage.usage.outputTokens);
  });

  it('runs turns of two threads at the same time on one process', async () => {
    const a = await h.transport.startThread(T);
    const b = await h.transport.startThread(T);
    const pid = h.transport.processes().find((p) => p.tenant === T)?.pid;
    const deltaTimes: Record<string, number[]> = { a: [], b: [] };
    const tap = (key: 'a' | 'b', id: string, reply: string) =>
      new Promise<CodexEvent[]>((resolve, reject) => {
        const seen: CodexEvent[] = [];
        h.transport
          .runTurn(T, {
            threadId: id,
            input: [{ type: 'text', text: `[[deltas: 5]] [[delay: 60]] [[reply: ${reply}]]` }],
          })
          .subscribe({
            next: (e) => {
              if (e.type === 'item.delta') deltaTimes[key].push(Date.now());
              seen.push(e);
            },
            error: reject,
            complete: () => resolve(seen),
          });
      });
    const [ea, eb] = await Promise.all([tap('a', a.thread.id, 'alpha reply'), tap('b', b.thread.id, 'bravo reply')]);
    expect(agentText(ea)).toBe('alpha reply');
    expect(agentText(eb)).toBe('bravo reply');
    expect(ea.every((e) => !('threadId' in e) || e.threadId === a.thread.id)).toBe(true);
    expect(eb.every((e) => !('threadId' in e) || e.threadId === b.thread.id)).toBe(true);
    expect(h.transport.processes().find((p) => p.tenant === T)?.pid).toBe(pid);
    // Both were in flight together: each one's deltas began before the other's ended.
    expect(deltaTimes.a).toHaveLength(5);
    expect(deltaTimes.b).toHaveLength(5);
    expect(deltaTimes.a[0]).toBeLessThan(deltaTimes.b[4]);
    expect(deltaTimes.b[0]).toBeLessThan(deltaTimes.a[4]);
  });

  it('refuses a second turn on a thread that is running one (busy)', async () => {
    const { thread } = await h.transport.startThread(T);
    const first = record(h, thread.id, '[[delay: 100]] [[deltas: 5]] busy test');
    await first.waitFor('turn.started');
    await expect(
      collect(h.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: 'again' }] })),
    ).rejects.toMatchObject({ code: CodexErrorCode.THREAD_BUSY });
    expect(completed(await first.done).status).toBe('completed');
  });

  describe('approvals (untrusted policy, scripted command)', () => {
    const command = '[[shell: echo approved-output-42]]';

    async function untrustedTurn() {
      const { thread } = await h.transport.startThread(T, { approvalPolicy: 'untrusted' });
      const turn = record(h, thread.id, `please run ${command}`);
      const requested = await turn.waitFor('approval.requested');
      return { thread, turn, approval: requested.approval };
    }

    it('surfaces the request with an id; accept runs the command and the item has its real output', async () => {
      const { thread, turn, approval } = await untrustedTurn();
      expect(approval.id).toMatch(/^appr_/);
      expect(approval.threadId).toBe(thread.id);
      expect(approval.command).toContain('echo approved-output-42');
      expect(approval.availableDecisions).toEqual(expect.arrayContaining(['accept', 'decline', 'cancel']));
      expect(h.transport.listApprovals(T).map((a: ApprovalRequest) => a.id)).toContain(approval.id);

      h.transport.respondToApproval(T, approval.id, 'accept');
      const events = await turn.done;
      expect(completed(events).status).toBe('completed');
      const resolved = events.find((e) => e.type === 'approval.resolved');
      expect(resolved).toMatchObject({ approvalId: approval.id, decision: 'accept', reason: 'answered' });
      const cmd = events.find((e) => e.type === 'item.completed' && e.item.type === 'commandExecution') as Extract<
        CodexEvent,
        { type: 'item.completed' }
      >;
      expect(cmd.item).toMatchObject({ status: 'completed', exitCode: 0 });
      expect((cmd.item as { output: string }).output).toContain('approved-output-42');
      expect(agentText(events)).toContain('approved-output-42');
      expect(h.transport.listApprovals(T)).toHaveLength(0);
      expect(() => h.transport.respondToApproval(T, approval.id, 'accept')).toThrow(
        expect.objectContaining({ code: CodexErrorCode.APPROVAL_RESOLVED }),
      );
    });

    it('decline: the command item is declined, not run, and the turn completes', async () => {
      const { turn, approval } = await untrustedTurn();
      h.transport.respondToApproval(T, approval.id, 'decline');
      const events = await turn.done;
      expect(completed(events).status).toBe('completed');
      const cmd = events.find((e) => e.type === 'item.completed' && e.item.type === 'commandExecution') as Extract<
        CodexEvent,
        { type: 'item.completed' }
      >;
      expect(cmd.item).toMatchObject({ status: 'declined' });
      expect((cmd.item as { output: string }).output).not.toContain('approved-output-42');
      expect(agentText(events)).toContain('The command was not run');
    });

    it('no answer: declined by the timeout and the turn completes', async () => {
      const { turn, approval } = await untrustedTurn();
      const events = await turn.done;
      expect(events.find((e) => e.type === 'approval.resolved')).toMatchObject({
        approvalId: approval.id,
        decision: 'decline',
        reason: 'timeout',
      });
      expect(completed(events).status).toBe('completed');
      expect(agentText(events)).toContain('The command was not run');
    });

    it('an unknown or foreign approval id is not found', () => {
      expect(() => h.transport.respondToApproval(T, 'appr_nope', 'accept')).toThrow(
        expect.objectContaining({ code: CodexErrorCode.APPROVAL_NOT_FOUND }),
      );
    });
  });

  it('unsubscribing mid-stream interrupts the turn, and the next turn on the thread works', async () => {
    const { thread } = await h.transport.startThread(T);
    const turn = record(h, thread.id, '[[slow]] long story');
    const delta = await turn.waitFor('item.delta');
    turn.unsubscribe();
    const next = await collect(
      h.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: '[[reply: after interrupt]]' }] }),
    );
    expect(completed(next).status).toBe('completed');
    expect(agentText(next)).toBe('after interrupt');
    const read = await h.transport.readThread(T, thread.id, true);
    expect(read.turns.map((t) => t.status)).toEqual(['interrupted', 'completed']);
    expect(read.turns[0].id).toBe(delta.turnId);
  });

  it('after an abandoned turn, only one new turn may take the thread', async () => {
    const { thread } = await h.transport.startThread(T);
    const turn = record(h, thread.id, '[[slow]] abandoned');
    await turn.waitFor('item.delta');
    turn.unsubscribe();
    const results = await Promise.allSettled([
      collect(h.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: '[[reply: one]]' }] })),
      collect(h.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: '[[reply: two]]' }] })),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: CodexErrorCode.THREAD_BUSY });
  });

  it('ends a turn that runs past the timeout with a timeout error, and the thread stays usable', async () => {
    const short = await createHarness('timeout', { turnTimeoutMs: 1500 });
    try {
      const { thread } = await short.transport.startThread(T);
      const events = await collect(
        short.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: '[[hang]]' }] }),
      );
      expect(completed(events)).toMatchObject({ status: 'failed', error: { code: CodexErrorCode.TURN_TIMEOUT } });
      const next = await collect(
        short.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: '[[reply: fine again]]' }] }),
      );
      expect(agentText(next)).toBe('fine again');
    } finally {
      await short.close();
    }
  });

  it('kill -9 mid-turn: the turn fails with a clear error; a new process resumes the thread with its history', async () => {
    const { thread } = await h.transport.startThread(T);
    const before = await collect(
      h.transport.runTurn(T, {
        threadId: thread.id,
        input: [{ type: 'text', text: 'remember pineapple [[reply: first answer]]' }],
      }),
    );
    expect(completed(before).status).toBe('completed');
    const oldPid = h.transport.processes().find((p) => p.tenant === T)!.pid!;

    const turn = record(h, thread.id, '[[slow]] doomed');
    await turn.waitFor('item.delta');
    process.kill(oldPid, 'SIGKILL');
    const events = await turn.done;
    const end = completed(events);
    expect(end.status).toBe('failed');
    expect(end.error?.code).toBe(CodexErrorCode.PROCESS_EXITED);
    expect(end.error?.message).toMatch(/exited unexpectedly \(signal SIGKILL\)/);

    const after = await collect(
      h.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: '[[memory]]' }] }),
    );
    const newPid = h.transport.processes().find((p) => p.tenant === T)!.pid!;
    expect(newPid).not.toBe(oldPid);
    expect(completed(after).status).toBe('completed');
    expect(agentText(after)).toContain('1) "remember pineapple"');
    const read = await h.transport.readThread(T, thread.id, true);
    expect(read.turns[0].status).toBe('completed');
    expect(read.turns.at(-1)!.status).toBe('completed');
    expect(h.transport.stats().processRestarts).toBeGreaterThanOrEqual(1);
  });

  it('takeThread hands out the spare started ahead, starts the next one, and drops a spare of a dead process', async () => {
    const tenant = 'spare';
    expect(await h.transport.spareThreadId(tenant)).toBeNull();
    const first = await h.transport.takeThread(tenant);
    // The next spare is started once the taken thread's turn is under way (see the test after this one).
    await collect(h.transport.runTurn(tenant, { threadId: first.thread.id, input: [{ type: 'text', text: 'x' }] }));
    const spare = await h.transport.spareThreadId(tenant);
    expect(spare).toMatch(/^[0-9a-f-]{36}$/);
    expect(spare).not.toBe(first.thread.id);

    const second = await h.transport.takeThread(tenant);
    expect(second.thread.id).toBe(spare);
    // The spare is an ordinary thread: a turn runs on it, and an unused spare is not listed.
    const events = await collect(
      h.transport.runTurn(tenant, {
        threadId: second.thread.id,
        input: [{ type: 'text', text: '[[reply: on the spare]]' }],
      }),
    );
    expect(agentText(events)).toBe('on the spare');
    const next = await h.transport.spareThreadId(tenant);
    expect(next).not.toBeNull();
    expect([first.thread.id, second.thread.id]).not.toContain(next);
    const listed = (await h.transport.listThreads(tenant)).data.map((t) => t.id);
    expect(listed).toContain(second.thread.id);
    expect(listed).not.toContain(next);

    // The spare lives in the process that started it: after that process dies, a new thread is started.
    process.kill(h.transport.processes().find((p) => p.tenant === tenant)!.pid!, 'SIGKILL');
    await until(() => !h.transport.processes().some((p) => p.tenant === tenant && p.pid), 'the killed process noticed');
    const third = await h.transport.takeThread(tenant);
    expect(third.thread.id).not.toBe(next);
    const after = await collect(
      h.transport.runTurn(tenant, {
        threadId: third.thread.id,
        input: [{ type: 'text', text: '[[reply: new process]]' }],
      }),
    );
    expect(agentText(after)).toBe('new process');
  });

  it("a new tenant's home starts with the databases of the readiness probe's codex; an existing home is left as it is", async () => {
    const dataDir = makeDataDir('seed');
    const transport = new AppServerTransport(transportOptions(h.provider, dataDir));
    try {
      const health = join(dataDir, 'health');
      await transport.checkHealth(); // no tenant's codex running: a probe starts one in <data dir>/health
      await until(() => transport.seedHome() === health, 'the probe stopped');
      expect(codexPidsWith(health)).toEqual([]);
      expect(readdirSync(health)).toContain('state_5.sqlite');
      // A file that only a copy from the probe's home can put in a tenant's.
      writeFileSync(join(health, 'marker.sqlite'), 'seed');
      const { thread } = await transport.startThread('newcomer');
      const home = transport.homeOf('newcomer');
      expect(readFileSync(join(home, 'marker.sqlite'), 'utf8')).toBe('seed');
      const events = await collect(
        transport.runTurn('newcomer', { threadId: thread.id, input: [{ type: 'text', text: '[[reply: seeded]]' }] }),
      );
      expect(agentText(events)).toBe('seeded');

      writeFileSync(join(health, 'later.sqlite'), 'seed');
      process.kill(transport.processes().find((p) => p.tenant === 'newcomer')!.pid!, 'SIGKILL');
      await until(() => !transport.processes().some((p) => p.pid), 'the killed process noticed');
      await transport.startThread('newcomer');
      expect(existsSync(join(home, 'later.sqlite'))).toBe(false);
      expect((await transport.listThreads('newcomer')).data.map((t) => t.id)).toContain(thread.id);
    } finally {
      await transport.shutdown();
    }
  });

  it('starts at most maxConcurrentStarts codex processes at once: new tenants at the same moment wait their turn', async () => {
    // What happens, in order: a start's `initialize` sent, and its answer.
    const order: string[] = [];
    const gated = await createHarness('start-gate', {
      maxConcurrentStarts: 1,
      onOutgoing: (m) => {
        if (m.kind === 'request' && m.method === 'initialize') order.push('sent');
      },
      onIncomingResult: (method) => {
        if (method === 'initialize') order.push('answered');
      },
    });
    try {
      const tenants = ['first', 'second', 'third'];
      const started = await Promise.all(tenants.map((t) => gated.transport.startThread(t)));
      expect(started.map((s) => typeof s.thread.id)).toEqual(['string', 'string', 'string']);
      expect(new Set(gated.transport.processes().map((p) => p.tenant))).toEqual(new Set(tenants));
      // One at a time: each start's handshake is answered before the next one begins.
      expect(order).toEqual(['sent', 'answered', 'sent', 'answered', 'sent', 'answered']);
    } finally {
      await gated.close();
    }
  });

  it("tops up the spares once the taken thread's turn is under way, not beside its turn/start", async () => {
    // What codex is sent, in order: the next spare's thread/start, and the taken thread's turn/start.
    const sent: string[] = [];
    const ordered = await createHarness('spare-order', {
      onOutgoing: (m) => {
        if (m.kind === 'request' && (m.method === 'thread/start' || m.method === 'turn/start')) sent.push(m.method);
      },
    });
    const tenant = 'order';
    try {
      for (const text of ['first', 'second']) {
        const taken = await ordered.transport.takeThread(tenant);
        const events = await collect(
          ordered.transport.runTurn(tenant, { threadId: taken.thread.id, input: [{ type: 'text', text }] }),
        );
        expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' });
      }
      // The first take finds no spare and starts its thread; each turn/start goes out before the spare
      // that replaces its thread is started.
      expect(sent).toEqual(['thread/start', 'turn/start', 'thread/start', 'turn/start', 'thread/start']);
    } finally {
      await ordered.close();
    }
  });

  it('keeps as many spare threads as its requests take at once (up to four), and none once it takes none for a while', async () => {
    const spares = await createHarness('spare-pool', { spareIdleMs: 1500 });
    const tenant = 'pool';
    try {
      // Taken threads that no turn starts on: the pool is topped up a moment after the take.
      const kept = (n: number) => until(() => spares.transport.spareThreads(tenant) === n, `${n} spares kept`);
      await spares.transport.takeThread(tenant); // the first request finds none, and one is started
      await kept(1);
      expect(await spares.transport.spareThreadId(tenant)).not.toBeNull();
      // Four at once: one takes the spare, three start their own; four are kept from then on.
      const four = await Promise.all([1, 2, 3, 4].map(() => spares.transport.takeThread(tenant)));
      expect(new Set(four.map((t) => t.thread.id)).size).toBe(4);
      await kept(4);
      const again = await Promise.all([1, 2, 3, 4].map(() => spares.transport.takeThread(tenant)));
      expect(again.map((t) => t.thread.id)).not.toEqual(expect.arrayContaining(four.map((t) => t.thread.id)));
      await kept(4);
      // Ephemeral threads have a pool of their own, and a conversation on one is not kept.
      const ephemeral = await spares.transport.takeThread(tenant, { ephemeral: true });
      await kept(5);
      const onIt = await collect(
        spares.transport.runTurn(tenant, {
          threadId: ephemeral.thread.id,
          input: [{ type: 'text', text: '[[reply: not kept]]' }],
        }),
      );
      expect(agentText(onIt)).toBe('not kept');
      await collect(
        spares.transport.runTurn(tenant, { threadId: again[0].thread.id, input: [{ type: 'text', text: 'kept' }] }),
      );
      const listed = (await spares.transport.listThreads(tenant)).data.map((t) => t.id);
      expect(listed).toContain(again[0].thread.id);
      expect(listed).not.toContain(ephemeral.thread.id);
      // No request for spareIdleMs: none is kept.
      await until(() => spares.transport.spareThreads(tenant) === 0, 'the spares of an idle tenant dropped');
      expect(await spares.transport.spareThreadId(tenant)).toBeNull();
    } finally {
      await spares.close();
    }
  });

  it('a provider answering HTTP 500 fails the turn after a bounded number of retries', async () => {
    const retrying = await createHarness('provider-500', {
      provider: { id: 'offline', name: 'Offline', baseUrl: '', requestMaxRetries: 1, streamMaxRetries: 1 },
    });
    retrying.options.provider.baseUrl = retrying.provider.baseUrl;
    try {
      const { thread } = await retrying.transport.startThread(T);
      const events = await collect(
        retrying.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: '[[status: 500]]' }] }),
      );
      const end = completed(events);
      expect(end.status).toBe('failed');
      expect(end.error?.code).toBe(CodexErrorCode.PROVIDER_ERROR);
      // It did retry, as many times as configured and not more: each of its 1 + 1 stream attempts makes the
      // request 1 + 1 times (stream_max_retries = request_max_retries = 1).
      expect(retrying.provider.requests.length).toBe(4);
    } finally {
      await retrying.close();
    }
  });

  it('the exec backend yields the same normalized events as app-server (plain and command turns)', async () => {
    const shape = (events: CodexEvent[]) => {
      const out: string[] = [];
      for (const e of events) {
        // Command output deltas are a timing detail: app-server streams them only for slow output.
        if (e.type === 'warning' || e.type === 'thread.started') continue;
        if (e.type === 'item.delta' && e.kind === 'output') continue;
        const label = e.type === 'item.started' || e.type === 'item.completed' ? `${e.type}:${e.item.type}` : e.type;
        if (label === 'item.delta' && out.at(-1) === 'item.delta') continue;
        out.push(label);
      }
      return out;
    };
    for (const prompt of ['[[reply: same either way]]', '[[shell: echo exec-and-app-server]]']) {
      const { thread } = await h.transport.startThread(T);
      const viaAppServer = await collect(
        h.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: prompt }] }),
      );
      const viaExec = await collect(h.exec.runTurn(T, { prompt }));
      expect(shape(viaExec)).toEqual(shape(viaAppServer));
      if (prompt.includes('shell')) {
        expect(agentText(viaExec)).toContain('exec-and-app-server');
        expect(agentText(viaAppServer)).toContain('exec-and-app-server');
      } else {
        expect(agentText(viaExec)).toBe(agentText(viaAppServer));
      }
      expect(viaExec[0]).toMatchObject({ type: 'thread.started' });
    }
  });

  it('a provider refusing connections fails the turn with PROVIDER_ERROR on both backends, not at the turn timeout', async () => {
    const dead = await createHarness('transport-dead-provider', {
      provider: {
        id: 'dead',
        name: 'Refuses connections',
        baseUrl: 'http://127.0.0.1:9/v1',
        requestMaxRetries: 0,
        streamMaxRetries: 0,
      },
      providerUnreachableMs: 1500,
    });
    try {
      const { thread } = await dead.transport.startThread(T);
      for (const events of [
        await collect(
          dead.transport.runTurn(T, { threadId: thread.id, input: [{ type: 'text', text: 'nobody home' }] }),
        ),
        await collect(dead.exec.runTurn(T, { prompt: 'nobody home' })),
      ]) {
        expect(events.some((e) => e.type === 'error' && e.willRetry && /waiting for network/i.test(e.message))).toBe(
          true,
        );
        const end = completed(events);
        expect(end.status).toBe('failed');
        expect(end.error?.code).toBe(CodexErrorCode.PROVIDER_ERROR);
        expect(end.error?.message).toMatch(/could not be reached for 2 s \(Reconnecting\.\.\. waiting for network/);
      }
      // The exec process was stopped with its turn.
      await until(
        () => codexPidsWith(dead.dataDir).filter((pid) => pid !== dead.transport.processes()[0]?.pid).length === 0,
        'exec process gone',
      );
    } finally {
      await dead.close();
    }
  });

  it('a turn sends model and effort only when its thread does not already run with them (codex keeps an override)', async () => {
    const sent: Array<Record<string, unknown>> = [];
    const mine = await createHarness('overrides', {
      onOutgoing: (m) => {
        if (m.kind === 'request' && m.method === 'turn/start') sent.push(m.params as Record<string, unknown>);
      },
    });
    try {
      const { thread } = await mine.transport.startThread(T);
      /** Runs a turn; what turn/start carried, and the model the provider was asked for. */
      const turn = async (model?: string, effort?: string) => {
        const events = await collect(
          mine.transport.runTurn(T, {
            threadId: thread.id,
            input: [{ type: 'text', text: '[[reply: ok]]' }],
            model,
            effort,
          }),
        );
        expect(completed(events).status).toBe('completed');
        const params = sent.at(-1)!;
        return { model: params.model, effort: params.effort, asked: mine.provider.requests.at(-1)!.body.model };
      };
      // The thread starts with the configured model and effort.
      expect(await turn('gpt-5-codex', 'medium')).toEqual({
        model: undefined,
        effort: undefined,
        asked: 'gpt-5-codex',
      });
      expect(await turn('gpt-5-mini')).toEqual({ model: 'gpt-5-mini', effort: undefined, asked: 'gpt-5-mini' });
      // codex kept the override: the same model again, or none, goes to the provider without being sent.
      expect(await turn('gpt-5-mini')).toEqual({ model: undefined, effort: undefined, asked: 'gpt-5-mini' });
      expect(await turn()).toEqual({ model: undefined, effort: undefined, asked: 'gpt-5-mini' });
      expect(await turn('gpt-5-codex', 'high')).toEqual({ model: 'gpt-5-codex', effort: 'high', asked: 'gpt-5-codex' });
      expect(await turn('gpt-5-codex', 'high')).toEqual({ model: undefined, effort: undefined, asked: 'gpt-5-codex' });
      // A new process resumes the thread with what codex reports for it; the provider still gets what was asked.
      process.kill(mine.transport.processes()[0].pid!, 'SIGKILL');
      await until(() => mine.transport.processes().every((p) => p.pid === undefined), 'codex process gone');
      expect((await turn('gpt-5-mini')).asked).toBe('gpt-5-mini');
      expect(await turn('gpt-5-mini')).toEqual({ model: undefined, effort: undefined, asked: 'gpt-5-mini' });
    } finally {
      await mine.close();
    }
  });

  it('shell snapshot off by default: a new thread takes none, commands still see the login profile; on when asked', async () => {
    for (const shellSnapshot of [undefined, true]) {
      const home = makeDataDir('profile-home');
      writeFileSync(join(home, '.profile'), 'export GATEWAY_PROFILE_MARK=from-profile\n');
      const mine = await createHarness('snapshot', { shellSnapshot, env: { ...baseChildEnv(), HOME: home } });
      try {
        const { thread } = await mine.transport.startThread(T);
        const events = await collect(
          mine.transport.runTurn(T, {
            threadId: thread.id,
            input: [{ type: 'text', text: '[[shell: echo mark=$GATEWAY_PROFILE_MARK]]' }],
          }),
        );
        expect(completed(events).status).toBe('completed');
        expect(agentText(events)).toContain('mark=from-profile');
        const config = readFileSync(join(mine.dataDir, 'users', T, 'config.toml'), 'utf8');
        expect(config).toContain(`shell_snapshot = ${shellSnapshot === true}`);
        // codex keeps the environments it captured under CODEX_HOME/shell_snapshots.
        expect(existsSync(join(mine.dataDir, 'users', T, 'shell_snapshots'))).toBe(shellSnapshot === true);
      } finally {
        await mine.close();
        rmSync(home, { recursive: true, force: true });
      }
    }
  });

  it('leaves no codex process of this test run alive after shutdown', async () => {
    const mine = await createHarness('shutdown');
    try {
      const { thread } = await mine.transport.startThread('tenant-a');
      await mine.transport.startThread('tenant-b');
      const turn = record(mine, thread.id, '[[slow]] x', 'tenant-a');
      await turn.waitFor('item.delta');
      expect(codexPidsWith(mine.dataDir).length).toBeGreaterThanOrEqual(2);
      await mine.transport.shutdown();
      const events = await turn.done;
      expect(completed(events).status).toBe('failed');
      expect(await survivingCodexProcesses(mine.dataDir)).toBe('');
    } finally {
      await mine.close();
    }
  });
});
