import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import type { CodexEvent } from '../events';
import type { CodexTransportError } from '../errors/codex-transport.error';
import { silentLogger } from '../logger';
import { AppServerSession, type AppServerSessionOptions } from './app-server-session';
import { ApprovalsRegistry } from './approvals.registry';

/** Options for a session on a stand-in binary, with limits far above what the tests take. */
function sessionOptions(binary: string, overrides: Partial<AppServerSessionOptions>): AppServerSessionOptions {
  return {
    tenant: 't',
    binary,
    env: { PATH: process.env.PATH },
    cwd: dirname(binary),
    clientName: 'test',
    clientVersion: '0',
    turnTimeoutMs: 10_000,
    interruptGraceMs: 1000,
    providerUnreachableMs: 15_000,
    requestTimeoutMs: 5000,
    handshakeTimeoutMs: 5000,
    stopStageMs: 500,
    startRetryMs: 1000,
    toolCallTimeoutMs: 10_000,
    spareIdleMs: 60_000,
    maxRunningTurns: 4,
    approvals: new ApprovalsRegistry(0),
    logger: silentLogger,
    prepare: () => undefined,
    ...overrides,
  };
}

/**
 * A stand-in for `codex app-server` that asks the gateway two server requests during a turn — one it
 * cannot handle and a file-change approval — and reports the answers back as the agent's message.
 */
const FAKE_APP_SERVER = `#!/usr/bin/env node
const rl = require('node:readline').createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const answers = {};
let turn = null;
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.method === 'initialize') return send({ id: m.id, result: { userAgent: 'fake', codexHome: '/x' } });
  if (m.method === 'initialized') return;
  if (m.method === 'thread/start') return send({ id: m.id, result: { thread: { id: '01a200e2-d2d5-70e0-bc05-26603e9b03b6', turns: [] } } });
  if (m.method === 'turn/start') {
    turn = { threadId: m.params.threadId, turnId: 'tu-1' };
    send({ id: m.id, result: { turn: { id: 'tu-1', status: 'inProgress', items: [] } } });
    send({ method: 'turn/started', params: { threadId: '01a200e2-d2d5-70e0-bc05-26603e9b03b6', turn: { id: 'tu-1' } } });
    send({ id: 100, method: 'item/tool/requestUserInput', params: { threadId: '01a200e2-d2d5-70e0-bc05-26603e9b03b6', turnId: 'tu-1', questions: [] } });
    send({ id: 101, method: 'item/fileChange/requestApproval', params: { threadId: '01a200e2-d2d5-70e0-bc05-26603e9b03b6', turnId: 'tu-1', itemId: 'fc-1', reason: 'write README', startedAtMs: 1 } });
    return;
  }
  if (m.id === 100 || m.id === 101) {
    answers[m.id] = m.error ? 'error ' + m.error.code : m.result.decision;
    if (Object.keys(answers).length === 2) {
      const text = 'input: ' + answers[100] + '; file change: ' + answers[101];
      send({ method: 'item/completed', params: { threadId: '01a200e2-d2d5-70e0-bc05-26603e9b03b6', turnId: 'tu-1', item: { type: 'agentMessage', id: 'm1', text } } });
      send({ method: 'turn/completed', params: { threadId: '01a200e2-d2d5-70e0-bc05-26603e9b03b6', turn: { id: 'tu-1', status: 'completed', error: null } } });
    }
  }
});
`;

describe('AppServerSession server requests (fake app-server)', () => {
  let dir: string;
  let session: AppServerSession;
  let approvals: ApprovalsRegistry;
  /** Methods of the requests written to the fake, in order. */
  let requests: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-app-server-'));
    const binary = join(dir, 'fake-codex');
    writeFileSync(binary, FAKE_APP_SERVER);
    chmodSync(binary, 0o755);
    approvals = new ApprovalsRegistry(0);
    requests = [];
    session = new AppServerSession(
      sessionOptions(binary, {
        approvals,
        onOutgoing: (message) => {
          if (message.kind === 'request') requests.push(message.method);
        },
      }),
    );
  });

  afterEach(async () => {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers an unknown server request with an error and surfaces a file-change approval', async () => {
    const { thread } = await session.startThread({});
    const turn = session.runTurn({ threadId: thread.id, input: [{ type: 'text', text: 'go' }] });
    const events: CodexEvent[] = [];
    let requestsAtSubscribe: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      turn.subscribe({
        next: (e) => {
          events.push(e);
          if (e.type === 'approval.requested') approvals.respond('t', e.approval.id, 'accept');
        },
        error: reject,
        complete: resolve,
      });
      requestsAtSubscribe = [...requests];
    });
    await done;
    // The thread is loaded on a live process: turn/start left within the subscribe call itself.
    expect(requestsAtSubscribe).toEqual(['initialize', 'thread/start', 'turn/start']);
    const warning = events.find((e) => e.type === 'warning');
    expect(warning).toMatchObject({ message: expect.stringContaining('item/tool/requestUserInput') });
    expect(events.find((e) => e.type === 'approval.requested')).toMatchObject({
      approval: {
        kind: 'fileChange',
        itemId: 'fc-1',
        reason: 'write README',
        threadId: '01a200e2-d2d5-70e0-bc05-26603e9b03b6',
        turnId: 'tu-1',
      },
    });
    expect(events.find((e) => e.type === 'approval.resolved')).toMatchObject({
      decision: 'accept',
      reason: 'answered',
    });
    const message = events.find((e) => e.type === 'item.completed');
    expect(message).toMatchObject({ item: { text: 'input: error -32601; file change: accept' } });
    expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' });
  });

  it('fails a turn with PROCESS_EXITED when the process dies, and starts a new one for the next call', async () => {
    const { thread } = await session.startThread({});
    const firstPid = session.pid!;
    const events = lastValueFrom(
      session.runTurn({ threadId: thread.id, input: [{ type: 'text', text: 'go' }] }).pipe(toArray()),
    );
    // The fake waits for answers to its requests; nobody answers the approval, so the turn hangs until the kill.
    await new Promise<void>((resolve) => {
      const deadline = Date.now() + 5000;
      const check = () => (approvals.count('t') > 0 || Date.now() > deadline ? resolve() : setTimeout(check, 5));
      check();
    });
    process.kill(firstPid, 'SIGKILL');
    const result = await events;
    expect(result.at(-1)).toMatchObject({
      type: 'turn.completed',
      status: 'failed',
      error: { code: 'PROCESS_EXITED', message: expect.stringContaining('exited unexpectedly (signal SIGKILL)') },
    });
    expect(approvals.count('t')).toBe(0);
    const again = await session.startThread({});
    expect(again.thread.id).toBe('01a200e2-d2d5-70e0-bc05-26603e9b03b6');
    expect(session.pid).not.toBe(firstPid);
  });
});

/** A codex that refuses to start: exits with codex's own error line, or answers initialize with an error. */
const REFUSING_APP_SERVER = (how: 'exit' | 'rpc', starts: string) => `#!/usr/bin/env node
require('node:fs').appendFileSync(${JSON.stringify(starts)}, 'start\\n');
if (${JSON.stringify(how)} === 'exit') {
  process.stderr.write('Error: approval_policy = "untrusted" is no longer supported; remove this setting\\n\\nStack backtrace:\\n   0: <unknown>\\n');
  process.exit(1);
}
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.method === 'initialize') process.stdout.write(JSON.stringify({ id: m.id, error: { code: -32600, message: "Invalid clientInfo.name: 'bad'. Must be a valid HTTP header value." } }) + '\\n');
});
`;

describe('AppServerSession start failures (fake app-server)', () => {
  let dir: string;
  let session: AppServerSession | null = null;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'refusing-app-server-'));
  });

  afterEach(async () => {
    await session?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function refusing(how: 'exit' | 'rpc'): { starts: () => number } {
    const binary = join(dir, 'fake-codex');
    const startsFile = join(dir, 'starts');
    writeFileSync(binary, REFUSING_APP_SERVER(how, startsFile));
    chmodSync(binary, 0o755);
    // A back-off far longer than the test: every call after the first failure comes within it.
    session = new AppServerSession(sessionOptions(binary, { startRetryMs: 600_000 }));
    return { starts: () => readFileSync(startsFile, 'utf8').split('\n').filter(Boolean).length };
  }

  it.each([
    ['exits with an error line', 'exit', 'approval_policy = "untrusted" is no longer supported; remove this setting'],
    ['refuses initialize', 'rpc', "Invalid clientInfo.name: 'bad'. Must be a valid HTTP header value."],
  ] as const)(
    'codex %s: START_FAILED with its own reason, then the same at once until the back-off has passed',
    async (_name, how, reason) => {
      const fake = refusing(how);
      const first = await session!.startThread({}).catch((e: unknown) => e as CodexTransportError);
      expect(first).toMatchObject({ code: 'START_FAILED', details: { reason, retryAfterMs: 600_000 } });
      for (let i = 0; i < 3; i++) {
        const again = await session!.startThread({}).catch((e: unknown) => e as CodexTransportError);
        expect(again).toMatchObject({ code: 'START_FAILED', details: { reason } });
        expect((again as CodexTransportError).details!.retryAfterMs).toBeGreaterThan(0);
        expect((again as CodexTransportError).details!.retryAfterMs).toBeLessThanOrEqual(600_000);
      }
      // One codex was started, not four.
      expect(fake.starts()).toBe(1);
    },
  );
});
