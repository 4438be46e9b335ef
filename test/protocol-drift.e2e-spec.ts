import Ajv, { type ValidateFunction } from 'ajv';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { type CodexEvent, type OutgoingMessage, resolveCodexBinary } from '@app/codex-transport';
import { describeDrift, diffProtocolSchemas, generateProtocolSchema, readSnapshot } from '../scripts/codex-schema';
import { createHarness, type Harness } from './support/harness';

/**
 * Protocol drift guard: every message the transport writes to `codex app-server`, and every result it
 * relies on, is validated against the committed protocol snapshot (`npm run codex:drift` keeps it), and
 * the installed codex must print that same protocol. A codex upgrade that changes the protocol fails here
 * instead of in production.
 */
// codex refuses remote image URLs in turn/start ("use an inline data URL instead").
const ONE_PIXEL_PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

describe('app-server protocol drift guard', () => {
  const outgoing: OutgoingMessage[] = [];
  const results: Array<{ method: string; result: unknown }> = [];
  const snapshot = readSnapshot();
  let h: Harness;
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
  const { $schema: _draft, ...bundle } = snapshot;
  ajv.addSchema(bundle, 'codex');
  const compiled = new Map<string, ValidateFunction>();

  /** The validator of one definition of the snapshot (`ClientRequest`, `v2/ThreadStartResponse`). */
  function validator(definition: string): ValidateFunction {
    let v = compiled.get(definition);
    if (!v) {
      v = ajv.getSchema(`codex#/definitions/${definition}`);
      if (!v) throw new Error(`the snapshot has no definition ${definition}`);
      compiled.set(definition, v);
    }
    return v;
  }

  function check(definition: string, value: unknown, label: string): string | null {
    const validate = validator(definition);
    if (validate(value)) return null;
    return `${label} does not match ${definition}: ${ajv.errorsText(validate.errors?.slice(0, 3))}`;
  }

  it('the installed codex prints the protocol of the committed snapshot (else: npm run codex:drift)', () => {
    const drift = diffProtocolSchemas(snapshot, generateProtocolSchema(resolveCodexBinary().path));
    expect(describeDrift(drift)).toBe(describeDrift({ ...drift, from: drift.to, added: [], removed: [], changed: [] }));
  });

  beforeAll(async () => {
    h = await createHarness('drift', {
      onOutgoing: (m) => outgoing.push(m),
      onIncomingResult: (method, result) => results.push({ method, result }),
      approvalTimeoutMs: 30_000,
    });

    // Exercise every request the transport knows how to send.
    const t = h.transport;
    const started = await t.startThread('default', {
      cwd: h.options.workspace,
      model: 'gpt-5-codex',
      approvalPolicy: 'untrusted',
      sandbox: 'workspace-write',
      developerInstructions: 'Be brief.',
    });
    const id = started.thread.id;
    const plain = await lastValueFrom(
      t
        .runTurn('default', {
          threadId: id,
          input: [
            { type: 'text', text: '[[reply: one]]' },
            { type: 'image', url: ONE_PIXEL_PNG },
          ],
          model: 'gpt-5-codex',
          effort: 'low',
          cwd: h.options.workspace,
          approvalPolicy: 'never',
          sandbox: 'read-only',
        })
        .pipe(toArray()),
    );
    expect(plain.at(-1)).toMatchObject({ type: 'turn.completed' });
    // An approval, answered, so the response to a server request is checked too.
    const approvalTurn = t.runTurn('default', {
      threadId: id,
      input: [{ type: 'text', text: '[[shell: echo drift]]' }],
      approvalPolicy: 'untrusted',
    });
    const all = lastValueFrom(approvalTurn.pipe(toArray()));
    for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
      const pending = t.listApprovals('default');
      if (pending.length > 0) {
        t.respondToApproval('default', pending[0].id, 'accept');
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await all;
    // An interrupt of a running turn.
    const slow = t.runTurn('default', { threadId: id, input: [{ type: 'text', text: '[[slow]] x' }] });
    const firstDelta = await new Promise<CodexEvent>((resolve) => {
      const sub = slow.subscribe((e) => {
        if (e.type === 'item.delta') {
          resolve(e);
          setTimeout(() => sub.unsubscribe(), 0);
        }
      });
    });
    await t.interruptTurn('default', id, (firstDelta as { turnId: string }).turnId).catch(() => undefined);
    const read = await t.readThread('default', id, true);
    await t.forkThread('default', { threadId: id, lastTurnId: read.turns[0].id, ephemeral: false });
    await t.forkThread('default', { threadId: id, lastTurnId: read.turns[0].id, ephemeral: true });
    // A turn with a developer message placed before it (the Responses API's instructions).
    const instructed = await lastValueFrom(
      t
        .runTurn('default', {
          threadId: id,
          input: [{ type: 'text', text: 'with instructions' }],
          developerMessage: 'Be brief.',
        })
        .pipe(toArray()),
    );
    expect(instructed.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' });
    expect(await t.latestTurnId('default', id)).toBe((instructed.at(-1) as { turnId: string }).turnId);
    // The experimental API: a thread with a client tool (dynamic tools), a call answered; a replayed history
    // (function call items) and an output schema.
    const tooled = await t.startThread('default', {
      dynamicTools: [
        {
          name: 'lookup',
          description: 'Look it up',
          inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
        },
      ],
    });
    const toolEvents = await lastValueFrom(
      t
        .runTurn('default', {
          threadId: tooled.thread.id,
          input: [{ type: 'text', text: '[[tool: lookup {"q":"x"}]]' }],
        })
        .pipe(
          tap((e) => {
            if (e.type === 'tool.call')
              t.answerToolCall('default', e.threadId, e.callId, { text: 'found', success: true });
          }),
          toArray(),
        ),
    );
    expect(toolEvents.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' });
    const replayed = await lastValueFrom(
      t
        .runTurn('default', {
          threadId: tooled.thread.id,
          input: [],
          history: [
            { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look up y' }] },
            { type: 'function_call', call_id: 'call_drift', name: 'lookup', arguments: '{"q":"y"}' },
            { type: 'function_call_output', call_id: 'call_drift', output: 'found y' },
          ],
          outputSchema: {
            type: 'object',
            properties: { a: { type: 'string' } },
            required: ['a'],
            additionalProperties: false,
          },
        })
        .pipe(toArray()),
    );
    expect(replayed.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' });
    await t.releaseThread('default', id);
    await t.resumeThread('default', { threadId: id, approvalPolicy: 'never', sandbox: 'read-only' });
    await t.listThreads('default', { limit: 5, includeExec: true });
    await t.listSkills('default', { cwds: [h.options.workspace], forceReload: true });
    await t.writeSkillConfig('default', { name: 'no-such-skill', enabled: false });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('sent every kind of request the gateway uses', () => {
    const methods = new Set(outgoing.filter((m) => m.kind === 'request').map((m) => (m as { method: string }).method));
    for (const method of [
      'initialize',
      'thread/start',
      'thread/resume',
      'thread/read',
      'thread/fork',
      'thread/list',
      'turn/start',
      'turn/interrupt',
      'skills/list',
      'skills/config/write',
      'thread/inject_items',
      'thread/turns/list',
      'thread/unsubscribe',
    ]) {
      expect(methods).toContain(method);
    }
    expect(outgoing.some((m) => m.kind === 'response')).toBe(true); // the approval answer
    const answers = outgoing.filter((m) => m.kind === 'response').map((m) => JSON.stringify(m.result));
    expect(answers.some((a) => a.includes('contentItems'))).toBe(true); // a client tool call's answer
    const sent = outgoing.map((m) => JSON.stringify(m));
    expect(sent.some((m) => m.includes('"dynamicTools"'))).toBe(true);
    expect(sent.some((m) => m.includes('"outputSchema"'))).toBe(true);
  });

  it('every request and notification matches the schema of the installed codex', () => {
    const problems: string[] = [];
    for (const m of outgoing) {
      if (m.kind === 'request') {
        const p = check('ClientRequest', { id: m.id, method: m.method, params: m.params }, `request ${m.method}`);
        if (p) problems.push(p);
      } else if (m.kind === 'notification') {
        const msg = m.params === undefined ? { method: m.method } : { method: m.method, params: m.params };
        const p = check('ClientNotification', msg, `notification ${m.method}`);
        if (p) problems.push(p);
      } else if (m.kind === 'response') {
        const tool = typeof m.result === 'object' && m.result !== null && 'contentItems' in m.result;
        const p = tool
          ? check('DynamicToolCallResponse', m.result, 'client tool call answer')
          : check('CommandExecutionRequestApprovalResponse', m.result, 'approval answer');
        if (p) problems.push(p);
      } else {
        const p = check('JSONRPCError', { id: m.id, error: m.error }, 'error answer');
        if (p) problems.push(p);
      }
    }
    expect(problems).toEqual([]);
    // The guard itself can fail: requests codex would refuse do not pass.
    expect(check('ClientRequest', { id: 1, method: 'turn/start', params: { threadId: 'x' } }, 'probe')).not.toBeNull();
    expect(check('ClientRequest', { id: 1, method: 'thread/explode', params: {} }, 'probe')).not.toBeNull();
    expect(
      check('ClientRequest', { id: 1, method: 'thread/start', params: { approvalPolicy: 'sometimes' } }, 'probe'),
    ).not.toBeNull();
  });

  it('every result the gateway relies on matches the schema', () => {
    const files: Record<string, string> = {
      initialize: 'InitializeResponse',
      'thread/start': 'v2/ThreadStartResponse',
      'thread/resume': 'v2/ThreadResumeResponse',
      'thread/read': 'v2/ThreadReadResponse',
      'thread/fork': 'v2/ThreadForkResponse',
      'thread/list': 'v2/ThreadListResponse',
      'turn/start': 'v2/TurnStartResponse',
      'turn/interrupt': 'v2/TurnInterruptResponse',
      'skills/list': 'v2/SkillsListResponse',
      'skills/config/write': 'v2/SkillsConfigWriteResponse',
      'thread/inject_items': 'v2/ThreadInjectItemsResponse',
      'thread/turns/list': 'v2/ThreadTurnsListResponse',
      'thread/unsubscribe': 'v2/ThreadUnsubscribeResponse',
    };
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const { method, result } of results) {
      const file = files[method];
      expect(file).toBeDefined();
      seen.add(method);
      const p = check(file, result, `result of ${method}`);
      if (p) problems.push(p);
    }
    expect(problems).toEqual([]);
    expect([...seen].sort()).toEqual(Object.keys(files).sort());
  });
});
