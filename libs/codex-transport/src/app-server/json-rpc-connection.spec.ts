import { PassThrough, Writable } from 'node:stream';
import { CodexErrorCode, CodexTransportError } from '../errors/codex-transport.error';
import { JsonRpcConnection, type OutgoingMessage, wellFormedJson } from './json-rpc-connection';

function setup(output: Writable = new PassThrough()) {
  const input = new PassThrough();
  const notifications: Array<[string, unknown]> = [];
  const requests: Array<[unknown, string, unknown]> = [];
  const noise: string[] = [];
  const outgoing: OutgoingMessage[] = [];
  const conn = new JsonRpcConnection(input, output, {
    onNotification: (m, p) => notifications.push([m, p]),
    onRequest: (id, m, p) => requests.push([id, m, p]),
    onNoise: (l) => noise.push(l),
    onOutgoing: (m) => outgoing.push(m),
  });
  const send = (obj: unknown) => input.write(`${JSON.stringify(obj)}\n`);
  return { input, output, conn, notifications, requests, noise, outgoing, send };
}

function written(output: PassThrough): Array<Record<string, unknown>> {
  const text = (output.read() as Buffer | null)?.toString('utf8') ?? '';
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const tick = () => new Promise((r) => setImmediate(r));

describe('JsonRpcConnection', () => {
  it('correlates responses by id, in any order', async () => {
    const { conn, output, send } = setup();
    const a = conn.request('thread/start', {});
    const b = conn.request('thread/list', { limit: 2 });
    const sent = written(output as PassThrough);
    expect(sent).toEqual([
      { id: 1, method: 'thread/start', params: {} },
      { id: 2, method: 'thread/list', params: { limit: 2 } },
    ]);
    send({ id: 2, result: { data: [] } });
    send({ id: 1, result: { thread: { id: 't1' } } });
    await expect(a).resolves.toEqual({ thread: { id: 't1' } });
    await expect(b).resolves.toEqual({ data: [] });
  });

  it('routes a message with id and method to onRequest, never to a pending request', async () => {
    const { conn, send, requests } = setup();
    const pending = conn.request('turn/start', {});
    send({ id: 1, method: 'item/commandExecution/requestApproval', params: { threadId: 't' } });
    await tick();
    expect(requests).toEqual([[1, 'item/commandExecution/requestApproval', { threadId: 't' }]]);
    expect(conn.pendingCount).toBe(1);
    send({ id: 1, result: { turn: { id: 'u' } } });
    await expect(pending).resolves.toEqual({ turn: { id: 'u' } });
  });

  it('routes notifications and reports non-JSON noise without breaking the stream', async () => {
    const { input, send, notifications, noise } = setup();
    input.write('WARN something on stdout\n');
    input.write('[1,2]\n');
    send({ method: 'turn/started', params: { threadId: 't' } });
    await tick();
    expect(notifications).toEqual([['turn/started', { threadId: 't' }]]);
    expect(noise).toEqual(['WARN something on stdout', '[1,2]']);
  });

  it('maps JSON-RPC errors to coded transport errors', async () => {
    const { conn, send } = setup();
    const missing = conn.request('thread/read', { threadId: 'x' });
    const turn = conn.request('turn/interrupt', {});
    const cursor = conn.request('thread/list', {});
    const fork = conn.request('thread/fork', {});
    const other = conn.request('skills/list', {});
    send({ id: 1, error: { code: -32600, message: 'invalid thread id: invalid character' } });
    send({ id: 2, error: { code: -32600, message: 'no active turn to interrupt' } });
    send({ id: 3, error: { code: -32600, message: 'invalid cursor: garbage' } });
    send({ id: 4, error: { code: -32600, message: 'turn not found: 01a24700-0000-7000-8000-000000000000' } });
    send({ id: 5, error: { code: -32603, message: 'something broke' } });
    await expect(missing).rejects.toMatchObject({ code: CodexErrorCode.THREAD_NOT_FOUND });
    await expect(turn).rejects.toMatchObject({ code: CodexErrorCode.TURN_NOT_FOUND });
    // What the client got wrong is its error (a 4xx), not codex's.
    await expect(cursor).rejects.toMatchObject({
      code: CodexErrorCode.INVALID_REQUEST,
      message: expect.stringMatching(/invalid cursor/),
    });
    await expect(fork).rejects.toMatchObject({ code: CodexErrorCode.TURN_NOT_FOUND });
    await expect(other).rejects.toMatchObject({ code: CodexErrorCode.RPC_ERROR });
  });

  it('rejects every pending request when disposed, and later calls at once', async () => {
    const { conn } = setup();
    const a = conn.request('a', {});
    const b = conn.request('b', {});
    const exit = new CodexTransportError(CodexErrorCode.PROCESS_EXITED, 'gone');
    conn.dispose(exit);
    await expect(a).rejects.toBe(exit);
    await expect(b).rejects.toBe(exit);
    await expect(conn.request('c', {})).rejects.toBe(exit);
    expect(conn.pendingCount).toBe(0);
  });

  it('times a request out with REQUEST_TIMEOUT and ignores the late answer', async () => {
    const { conn, send } = setup();
    const slow = conn.request('thread/read', {}, 20);
    await expect(slow).rejects.toMatchObject({ code: CodexErrorCode.REQUEST_TIMEOUT });
    send({ id: 1, result: {} });
    await tick();
    expect(conn.pendingCount).toBe(0);
  });

  it('waits for drain when the child stdin is full, then writes in order', async () => {
    const chunks: string[] = [];
    let release: (() => void) | null = null;
    const output = new Writable({
      highWaterMark: 16,
      write(chunk, _enc, cb) {
        chunks.push(chunk.toString());
        release = cb; // hold the write until the test lets it go
      },
    });
    const { conn } = setup(output);
    void conn.request('first', { pad: 'x'.repeat(32) }).catch(() => undefined);
    void conn.request('second', {}).catch(() => undefined);
    conn.respond(7, { decision: 'accept' });
    expect(chunks).toHaveLength(1); // the rest is queued behind the full buffer
    while (release) {
      const r: () => void = release;
      release = null;
      r();
      await tick();
    }
    expect(chunks.map((c) => JSON.parse(c))).toEqual([
      { id: 1, method: 'first', params: { pad: 'x'.repeat(32) } },
      { id: 2, method: 'second', params: {} },
      { id: 7, result: { decision: 'accept' } },
    ]);
  });

  it('shows every written message to the tap', () => {
    const { conn, outgoing } = setup();
    void conn.request('initialize', { clientInfo: {} });
    conn.notify('initialized');
    conn.respondError(3, -32601, 'nope');
    expect(outgoing).toEqual([
      { kind: 'request', id: 1, method: 'initialize', params: { clientInfo: {} } },
      { kind: 'notification', method: 'initialized', params: undefined },
      { kind: 'error', id: 3, error: { code: -32601, message: 'nope' } },
    ]);
  });
});

describe('wellFormedJson', () => {
  it('replaces lone surrogates (which codex cannot parse) and leaves everything else as JSON.stringify writes it', () => {
    expect(wellFormedJson({ a: 'plain', b: '😀' })).toBe(JSON.stringify({ a: 'plain', b: '😀' }));
    expect(JSON.parse(wellFormedJson({ text: 'x\ud800y', deep: ['\udc00'] }))).toEqual({
      text: 'x\ufffdy',
      deep: ['\ufffd'],
    });
    expect(wellFormedJson({ text: 'x\ud800y' })).not.toMatch(/\\ud800/);
    // A literal backslash-u sequence typed by a user is text, not a surrogate.
    expect(JSON.parse(wellFormedJson({ text: '\\ud800' }))).toEqual({ text: '\\ud800' });
  });
});
