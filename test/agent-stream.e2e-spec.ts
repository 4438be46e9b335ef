import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientHttp2Session } from 'node:http2';
import { AppServerTransport } from '@app/codex-transport';
import { LENGTH_PREFIXED, NDJSON } from '../apps/gateway/src/agent-stream/agent-frames';
import { AgentStreamServer } from '../apps/gateway/src/agent-stream/agent-stream.server';
import { startGateway, type TestGateway } from './support/gateway';
import { type AgentStreamClient, connectH2, type Frame, openAgentStream } from './support/h2';
import { selfSignedCertificate, until } from './support/harness';

const TOKEN = 'agent-stream-token';
const REPLY = (text: string) => `Hello from the offline provider. You said: ${text}`;
const auth = { authorization: `Bearer ${TOKEN}` };
const OTHER_TOKEN = 'token-of-another-tenant';

/** Text of the agent message deltas a stream carried. */
const deltaText = (frames: Frame[]) =>
  frames
    .filter((f) => f.type === 'item' && f.phase === 'delta' && f.responseItem.kind === 'text')
    .map((f) => f.responseItem.delta)
    .join('');

describe('HTTP/2 agent stream (node:http2 client, real codex)', () => {
  let gw: TestGateway;
  let h2: ClientHttp2Session;
  const running = () => gw.app.get(AppServerTransport).stats().runningTurns;

  beforeAll(async () => {
    gw = await startGateway('agent-stream', {
      CODEX_GATEWAY_TOKENS: `default:${TOKEN},mallory:${OTHER_TOKEN}`,
      CODEX_MAX_CONCURRENCY: '64',
    });
    h2 = connectH2(gw.app.get(AgentStreamServer).url);
  });

  afterEach(async () => {
    // After every test no codex turn is left running.
    await until(() => running() === 0, 'no running turn');
  });

  afterAll(async () => {
    h2?.close();
    await gw?.close();
  });

  it.each([
    ['NDJSON', NDJSON],
    ['length-prefixed JSON', LENGTH_PREFIXED],
  ] as const)('%s: user message → session, deltas, the completed message, turn_completed', async (_name, framing) => {
    const s = openAgentStream(h2, { framing, headers: auth });
    s.send({ type: 'user_message', id: 'm1', content: '[[deltas: 4]] hello stream' });
    const done = await s.next((f) => f.type === 'turn_completed');
    expect((await s.response())['content-type']).toBe(framing);
    expect(s.frames[0]).toMatchObject({
      type: 'session',
      id: 'm1',
      sessionId: expect.any(String),
      threadId: expect.any(String),
      resumed: false,
    });
    expect(deltaText(s.frames)).toBe(REPLY('hello stream'));
    expect(s.frames.filter((f) => f.type === 'item' && f.phase === 'delta')).toHaveLength(4);
    const completed = s.frames.find(
      (f) => f.type === 'item' && f.phase === 'completed' && f.responseItem.type === 'agentMessage',
    );
    expect(completed!.responseItem.text).toBe(REPLY('hello stream'));
    expect(done).toMatchObject({ id: 'm1', status: 'completed', usage: { inputTokens: expect.any(Number) } });
    // Ending our side: the server says so and ends the stream.
    s.end();
    await s.closed;
    expect(s.frames.at(-1)).toMatchObject({ type: 'terminate' });
  });

  it('suggest policy: command_prompt, allow mid-turn runs the command; deny declines it', async () => {
    const s = openAgentStream(h2, { headers: auth });
    s.send({
      type: 'user_message',
      content: '[[shell: echo agent-allowed]]',
      configOverrides: { approvalPolicy: 'suggest' },
    });
    const prompt = await s.next((f) => f.type === 'command_prompt');
    expect(prompt).toMatchObject({
      commandId: expect.any(String),
      commandLine: expect.stringContaining('echo agent-allowed'),
    });
    expect(prompt.command).toContain('echo agent-allowed');
    expect(prompt.availableDecisions).toContain('accept');
    s.send({ type: 'approve', sessionId: prompt.sessionId, commandId: prompt.commandId, decision: 'allow' });
    const command = await s.next(
      (f) => f.type === 'item' && f.phase === 'completed' && f.responseItem.type === 'commandExecution',
    );
    expect(command.responseItem).toMatchObject({
      status: 'completed',
      exitCode: 0,
      output: expect.stringContaining('agent-allowed'),
    });
    expect(await s.next((f) => f.type === 'turn_completed')).toMatchObject({ status: 'completed' });

    const from = s.frames.length;
    s.send({
      type: 'user_message',
      sessionId: prompt.sessionId,
      content: '[[shell: echo agent-denied]]',
      configOverrides: { approvalPolicy: 'suggest' },
    });
    const second = await s.next((f) => f.type === 'command_prompt', 20_000, from);
    s.send({ type: 'approve', sessionId: second.sessionId, commandId: second.commandId, decision: 'deny' });
    const declined = await s.next(
      (f) => f.type === 'item' && f.phase === 'completed' && f.responseItem.type === 'commandExecution',
      20_000,
      from,
    );
    expect(declined.responseItem.status).toBe('declined');
    expect(await s.next((f) => f.type === 'turn_completed', 20_000, from)).toMatchObject({ status: 'completed' });
    // Answering the same prompt again: a clear error, the stream stays usable.
    s.send({ type: 'approve', sessionId: second.sessionId, commandId: second.commandId, decision: 'allow' });
    expect(await s.next((f) => f.type === 'error', 20_000, from)).toMatchObject({ code: 'approval_not_found' });
    s.end();
    await s.closed;
  });

  it('cancel during a slow turn ends it as interrupted at once; a message sent meanwhile is queued and runs next', async () => {
    const s = openAgentStream(h2, { headers: auth });
    // A turn that never ends by itself: only the cancel ends it.
    s.send({ type: 'user_message', content: '[[stall: 2]] a long answer' });
    const first = await s.next((f) => f.type === 'item' && f.phase === 'delta');
    s.send({ type: 'user_message', sessionId: first.sessionId, id: 'queued', content: 'after the cancel' });
    expect(await s.next((f) => f.type === 'status' && f.message === 'queued')).toMatchObject({
      id: 'queued',
      details: { position: 1 },
    });
    s.send({ type: 'cancel', sessionId: first.sessionId });
    const interrupted = await s.next((f) => f.type === 'turn_completed');
    expect(interrupted.status).toBe('interrupted');
    expect(deltaText(s.frames.slice(0, s.frames.indexOf(interrupted)))).not.toBe(REPLY('a long answer'));
    const next = await s.next((f) => f.type === 'turn_completed' && f.id === 'queued');
    expect(next.status).toBe('completed');
    expect(deltaText(s.frames.slice(s.frames.indexOf(interrupted)))).toBe(REPLY('after the cancel'));
    s.end();
    await s.closed;
  });

  it('a new stream with the same sessionId resumes the thread with its history', async () => {
    const sessionId = `reconnect-${Date.now()}`;
    const one = openAgentStream(h2, { headers: auth });
    one.send({ type: 'user_message', sessionId, content: 'my favourite colour is teal' });
    const firstSession = await one.next((f) => f.type === 'session');
    await one.next((f) => f.type === 'turn_completed');
    one.end();
    await one.closed;
    const two = openAgentStream(h2, { framing: LENGTH_PREFIXED, headers: auth });
    two.send({ type: 'user_message', sessionId, content: '[[memory]] what did I say' });
    expect(await two.next((f) => f.type === 'session')).toMatchObject({
      sessionId,
      threadId: firstSession.threadId,
      resumed: true,
    });
    await two.next((f) => f.type === 'turn_completed');
    expect(deltaText(two.frames)).toBe(
      'I can see 2 user messages in this conversation. Earlier: 1) "my favourite colour is teal".',
    );
    two.end();
    await two.closed;
  });

  it('closing the stream interrupts its running turn and declines its pending approval', async () => {
    const s = openAgentStream(h2, { headers: auth });
    s.send({
      type: 'user_message',
      content: '[[shell: echo never]]',
      configOverrides: { approvalPolicy: 'untrusted' },
    });
    await s.next((f) => f.type === 'command_prompt');
    expect(gw.app.get(AppServerTransport).listApprovals('default')).toHaveLength(1);
    s.stream.close();
    await s.closed;
    await until(() => running() === 0, 'the turn is interrupted');
    await until(() => gw.app.get(AppServerTransport).listApprovals('default').length === 0, 'the approval is gone');
  });

  it("another tenant's session id names a different thread, and its approvals cannot be answered from there", async () => {
    const sessionId = `shared-name-${Date.now()}`;
    const mine = openAgentStream(h2, { headers: auth });
    mine.send({
      type: 'user_message',
      sessionId,
      content: '[[shell: echo mine]]',
      configOverrides: { approvalPolicy: 'untrusted' },
    });
    const prompt = await mine.next((f) => f.type === 'command_prompt');
    const theirs = openAgentStream(h2, { headers: { authorization: `Bearer ${OTHER_TOKEN}` } });
    theirs.send({ type: 'user_message', sessionId, content: 'hello' });
    const theirSession = await theirs.next((f) => f.type === 'session');
    expect(theirSession).toMatchObject({ sessionId, resumed: false });
    expect(theirSession.threadId).not.toBe(mine.frames[0].threadId);
    theirs.send({ type: 'approve', sessionId, commandId: prompt.commandId, decision: 'allow' });
    expect(await theirs.next((f) => f.type === 'error')).toMatchObject({ code: 'approval_not_found' });
    await theirs.next((f) => f.type === 'turn_completed');
    expect(
      gw.app
        .get(AppServerTransport)
        .listApprovals('default')
        .map((a) => a.id),
    ).toEqual([prompt.commandId]);
    mine.send({ type: 'approve', sessionId, commandId: prompt.commandId, decision: 'deny' });
    expect(await mine.next((f) => f.type === 'turn_completed')).toMatchObject({ status: 'completed' });
    mine.end();
    theirs.end();
    await Promise.all([mine.closed, theirs.closed]);
  });

  it('50 concurrent streams on one HTTP/2 connection each get their own text', async () => {
    const streams: AgentStreamClient[] = [];
    for (let i = 0; i < 50; i++) {
      const s = openAgentStream(h2, { headers: auth, framing: i % 2 ? NDJSON : LENGTH_PREFIXED });
      s.send({ type: 'user_message', content: `[[deltas: 3]] stream number ${i}` });
      s.end();
      streams.push(s);
    }
    await Promise.all(streams.map((s) => s.closed));
    streams.forEach((s, i) => {
      expect(s.frames.find((f) => f.type === 'turn_completed')).toMatchObject({ status: 'completed' });
      expect(deltaText(s.frames)).toBe(REPLY(`stream number ${i}`));
    });
    expect(new Set(streams.map((s) => s.frames[0].threadId)).size).toBe(50);
  });

  it('the demo client (npm run agent-client) streams the reply and asks on the terminal before a command runs', async () => {
    const child = spawn(
      'npm',
      [
        'run',
        '--silent',
        'agent-client',
        '--',
        '--approval-policy',
        'suggest',
        `demo-${Date.now()}`,
        '[[shell: echo demo-approved]]',
      ],
      {
        cwd: join(__dirname, '..'),
        env: { ...process.env, AGENT_STREAM_URL: gw.app.get(AgentStreamServer).url, CODEX_GATEWAY_TOKEN: TOKEN },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.includes('[y/N]') && !child.stdin.writableEnded) child.stdin.end('y\n');
    });
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toMatch(/Allow `.*echo demo-approved.*`/);
    expect(out).toMatch(/Command output:\n(.*\n)*demo-approved\n/);
    expect(out).toContain('"type":"turn_completed"');
    expect(code).toBe(0);
  });

  describe('bad input', () => {
    it('invalid JSON, an unknown frame type and a failed schema get an error frame; the stream stays usable', async () => {
      const s = openAgentStream(h2, { headers: auth });
      s.sendRaw('{not json}\n');
      s.send({ type: 'shout', id: 'x1' });
      s.send({ type: 'user_message', id: 'x2', content: 42 });
      s.send({ type: 'approve', id: 'x3', sessionId: '../../etc', commandId: 'c', decision: 'allow' });
      s.send({ type: 'user_message', id: 'x4', content: 'x', configOverrides: { approvalPolicy: 'always' } });
      s.send({ type: 'user_message', id: 'x5', content: 'x', configOverrides: { cwd: '/etc' } });
      // Fields a frame does not define (a typo of an override, an override that does not exist): refused.
      s.send({ type: 'user_message', id: 'x6', content: 'x', configOverrides: { modle: 'other' } });
      s.send({ type: 'user_message', id: 'x7', content: 'x', configOverrides: { effort: 'low' } });
      s.send({ type: 'cancel', id: 'x8', sessionId: 's', force: true });
      s.send({ type: 'ping', id: 'p' });
      expect(await s.next((f) => f.type === 'heartbeat' && f.id === 'p')).toMatchObject({
        timestamp: expect.any(Number),
      });
      const errors = () => s.frames.filter((f) => f.type === 'error');
      await until(() => errors().length >= 9, 'nine error frames');
      // x5's cwd is checked when its turn is prepared, after the frames refused as they are parsed.
      const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
      expect(
        errors()
          .map((f) => [f.id ?? null, f.code])
          .sort(byId),
      ).toEqual([
        [null, 'invalid_json'],
        ['x1', 'unknown_frame'],
        ['x2', 'invalid_frame'],
        ['x3', 'invalid_frame'],
        ['x4', 'invalid_frame'],
        ['x5', 'invalid_frame'],
        ['x6', 'invalid_frame'],
        ['x7', 'invalid_frame'],
        ['x8', 'invalid_frame'],
      ]);
      const message = (id: string) => errors().find((f) => f.id === id)?.message;
      expect(message('x6')).toMatch(/^configOverrides\.modle is not a field of configOverrides/);
      expect(message('x8')).toMatch(/^force is not a field of a cancel frame/);
      // Still usable.
      s.send({ type: 'user_message', id: 'ok', content: 'still here' });
      expect(await s.next((f) => f.type === 'turn_completed')).toMatchObject({ id: 'ok', status: 'completed' });
      s.end();
      await s.closed;
    });

    it('a frame over the size limit, or a broken length prefix, gets error then terminate and a clean close', async () => {
      const big = openAgentStream(h2, { headers: auth });
      big.sendRaw(`{"type":"user_message","content":"${'x'.repeat(1024 * 1024 + 10)}"}\n`);
      await big.closed;
      expect(big.frames.map((f) => f.type)).toEqual(['error', 'terminate']);
      expect(big.frames[0].code).toBe('framing_error');

      const prefix = openAgentStream(h2, { headers: auth, framing: LENGTH_PREFIXED });
      const header = Buffer.alloc(4);
      header.writeUInt32BE(0xfffffff0, 0);
      prefix.sendRaw(header);
      await prefix.closed;
      expect(prefix.frames.map((f) => f.type)).toEqual(['error', 'terminate']);

      const truncated = openAgentStream(h2, { headers: auth, framing: LENGTH_PREFIXED });
      const partial = Buffer.alloc(6);
      partial.writeUInt32BE(100, 0);
      truncated.sendRaw(partial);
      truncated.end();
      await truncated.closed;
      expect(truncated.frames.map((f) => f.type)).toEqual(['error', 'terminate']);
      expect(truncated.frames[0].message).toMatch(/ended inside a frame/);
    });

    it('wrong path 404, wrong method 405, unknown Content-Type 415, missing or wrong token 401', async () => {
      const status = async (options: Parameters<typeof openAgentStream>[1]) => {
        const s = openAgentStream(h2, options);
        s.end();
        const headers = await s.response();
        await s.closed;
        return {
          status: Number(headers[':status']),
          challenge: headers['www-authenticate'],
          body: JSON.parse(s.raw.toString('utf8') || 'null'),
        };
      };
      expect((await status({ headers: auth, path: '/agent/elsewhere' })).status).toBe(404);
      const wrongMethod = await status({ headers: auth, method: 'GET' });
      expect(wrongMethod).toMatchObject({ status: 405, body: { statusCode: 405 } });
      expect((await status({ headers: { ...auth, 'content-type': 'text/plain' } })).status).toBe(415);
      expect(await status({})).toMatchObject({ status: 401, challenge: 'Bearer realm="codex-gateway"' });
      expect((await status({ headers: { authorization: 'Bearer wrong-token-value' } })).status).toBe(401);
      expect((await status({ path: '/health/live', method: 'GET' })).status).toBe(200);
    });
  });
});

describe('HTTP/2 agent stream over TLS', () => {
  it('serves h2 with a self-signed certificate made here; unreadable files stop the boot with a clear error', async () => {
    const { dir, key, cert } = selfSignedCertificate('tls');
    const gw = await startGateway('agent-tls', {
      CODEX_API_USE_TLS: 'true',
      CODEX_API_TLS_KEY_PATH: key,
      CODEX_API_TLS_CERT_PATH: cert,
    });
    const server = gw.app.get(AgentStreamServer);
    const h2 = connectH2(server.url, { ca: readFileSync(cert) });
    try {
      expect(server.url).toMatch(/^https:/);
      const s = openAgentStream(h2);
      s.send({ type: 'user_message', content: 'over tls' });
      await s.next((f) => f.type === 'turn_completed');
      expect(deltaText(s.frames)).toBe(REPLY('over tls'));
      s.end();
      await s.closed;
    } finally {
      h2.close();
      await gw.close();
    }
    writeFileSync(join(dir, 'bad.pem'), 'not a key');
    await expect(
      startGateway('agent-tls-bad', {
        CODEX_API_USE_TLS: 'true',
        CODEX_API_TLS_KEY_PATH: join(dir, 'missing.pem'),
        CODEX_API_TLS_CERT_PATH: cert,
      }),
    ).rejects.toThrow(/CODEX_API_TLS_KEY_PATH: cannot read .*missing\.pem \(ENOENT\)/);
    await expect(
      startGateway('agent-tls-bad', {
        CODEX_API_USE_TLS: 'true',
        CODEX_API_TLS_KEY_PATH: join(dir, 'bad.pem'),
        CODEX_API_TLS_CERT_PATH: cert,
      }),
    ).rejects.toThrow(/not a usable key and certificate/);
  });
});
