import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { lastValueFrom, toArray } from 'rxjs';
import { type CodexEvent, type OutgoingMessage, resolveCodexBinary } from '@app/codex-transport';
import { createHarness, type Harness, makeDataDir } from './support/harness';

/**
 * Protocol drift guard: every message the transport writes to `codex app-server`, and every result it
 * relies on, is validated against the JSON Schema that the installed codex binary prints. A codex upgrade
 * that changes the protocol fails here instead of in production.
 */
// codex refuses remote image URLs in turn/start ("use an inline data URL instead").
const ONE_PIXEL_PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

describe('app-server protocol drift guard', () => {
  const outgoing: OutgoingMessage[] = [];
  const results: Array<{ method: string; result: unknown }> = [];
  let schemaDir: string;
  let h: Harness;
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
  const compiled = new Map<string, ValidateFunction>();

  function validator(file: string): ValidateFunction {
    let v = compiled.get(file);
    if (!v) {
      const schema = JSON.parse(readFileSync(join(schemaDir, file), 'utf8'));
      delete schema.$schema;
      v = ajv.compile(schema);
      compiled.set(file, v);
    }
    return v;
  }

  function check(file: string, value: unknown, label: string): string | null {
    const validate = validator(file);
    if (validate(value)) return null;
    return `${label} does not match ${file}: ${ajv.errorsText(validate.errors?.slice(0, 3))}`;
  }

  beforeAll(async () => {
    schemaDir = makeDataDir('schema');
    const home = join(schemaDir, 'home');
    mkdirSync(home, { recursive: true });
    execFileSync(resolveCodexBinary().path, ['app-server', 'generate-json-schema', '--out', join(schemaDir, 'out')], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CODEX_HOME: home },
      stdio: 'ignore',
    });
    schemaDir = join(schemaDir, 'out');
    expect(existsSync(join(schemaDir, 'ClientRequest.json'))).toBe(true);
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
          input: [{ type: 'text', text: '[[reply: one]]' }, { type: 'image', url: ONE_PIXEL_PNG }],
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
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
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
      t.runTurn('default', { threadId: id, input: [{ type: 'text', text: 'with instructions' }], developerMessage: 'Be brief.' }).pipe(toArray()),
    );
    expect(instructed.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' });
    expect(await t.latestTurnId('default', id)).toBe((instructed.at(-1) as { turnId: string }).turnId);
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
  });

  it('every request and notification matches the schema of the installed codex', () => {
    const problems: string[] = [];
    for (const m of outgoing) {
      if (m.kind === 'request') {
        const p = check('ClientRequest.json', { id: m.id, method: m.method, params: m.params }, `request ${m.method}`);
        if (p) problems.push(p);
      } else if (m.kind === 'notification') {
        const msg = m.params === undefined ? { method: m.method } : { method: m.method, params: m.params };
        const p = check('ClientNotification.json', msg, `notification ${m.method}`);
        if (p) problems.push(p);
      } else if (m.kind === 'response') {
        const p = check('CommandExecutionRequestApprovalResponse.json', m.result, 'approval answer');
        if (p) problems.push(p);
      } else {
        const p = check('JSONRPCError.json', { id: m.id, error: m.error }, 'error answer');
        if (p) problems.push(p);
      }
    }
    expect(problems).toEqual([]);
    // The guard itself can fail: requests codex would refuse do not pass.
    expect(check('ClientRequest.json', { id: 1, method: 'turn/start', params: { threadId: 'x' } }, 'probe')).not.toBeNull();
    expect(check('ClientRequest.json', { id: 1, method: 'thread/explode', params: {} }, 'probe')).not.toBeNull();
    expect(
      check('ClientRequest.json', { id: 1, method: 'thread/start', params: { approvalPolicy: 'sometimes' } }, 'probe'),
    ).not.toBeNull();
  });

  it('every result the gateway relies on matches the schema', () => {
    const files: Record<string, string> = {
      initialize: 'v1/InitializeResponse.json',
      'thread/start': 'v2/ThreadStartResponse.json',
      'thread/resume': 'v2/ThreadResumeResponse.json',
      'thread/read': 'v2/ThreadReadResponse.json',
      'thread/fork': 'v2/ThreadForkResponse.json',
      'thread/list': 'v2/ThreadListResponse.json',
      'turn/start': 'v2/TurnStartResponse.json',
      'turn/interrupt': 'v2/TurnInterruptResponse.json',
      'skills/list': 'v2/SkillsListResponse.json',
      'skills/config/write': 'v2/SkillsConfigWriteResponse.json',
      'thread/inject_items': 'v2/ThreadInjectItemsResponse.json',
      'thread/turns/list': 'v2/ThreadTurnsListResponse.json',
      'thread/unsubscribe': 'v2/ThreadUnsubscribeResponse.json',
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
