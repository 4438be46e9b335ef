import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { AppServerTransport } from '@app/codex-transport';
import { startGateway, type TestGateway } from './support/gateway';
import { postSse } from './support/sse';

type Item = { type: string; text?: string; output?: string; status?: string; exitCode?: number | null };

async function startThread(gw: TestGateway, body: Record<string, unknown> = {}): Promise<string> {
  const res = await request(gw.url).post('/api/thread/start').send(body).expect(200);
  return res.body.thread.id as string;
}

function turnBody(threadId: string, text: string, extra: Record<string, unknown> = {}) {
  return { threadId, input: [{ type: 'text', text }], ...extra };
}

async function waitForApproval(gw: TestGateway, threadId: string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const res = await request(gw.url).get('/api/approvals').query({ threadId }).expect(200);
    if (res.body.data.length > 0) return res.body.data[0];
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no approval appeared in 15 s');
}

describe('app-server REST API (real codex, offline provider, real HTTP)', () => {
  let gw: TestGateway;
  let workspace: string;

  beforeAll(async () => {
    gw = await startGateway('rest');
    workspace = realpathSync(join(gw.dataDir, 'workspace'));
  });

  afterAll(async () => {
    await gw?.close();
  });

  describe('the README flow', () => {
    it('start with cwd, two messages, then read both turns with their items in order', async () => {
      const start = await request(gw.url).post('/api/thread/start').send({ cwd: workspace }).expect(200);
      expect(start.body.thread).toMatchObject({ id: expect.any(String), preview: '', cwd: workspace });
      expect(start.body.thread.createdAt).toEqual(expect.any(Number));
      expect(start.body).toMatchObject({ approvalPolicy: 'never', sandbox: 'read-only', model: 'gpt-5-codex' });
      expect(JSON.stringify(start.body)).not.toContain('rollout'); // no internal paths
      const threadId = start.body.thread.id;

      const first = await request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, 'Write a hello world program in Python'))
        .expect(200);
      expect(first.body.turn.status).toBe('completed');
      expect(first.body.turn.items.map((i: Item) => i.type)).toEqual(['userMessage', 'agentMessage']);
      expect(first.body.turn.items[1].text).toBe(
        'Hello from the offline provider. You said: Write a hello world program in Python',
      );
      expect(first.body.turn.usage.totalTokens).toBeGreaterThan(0);

      const second = await request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, 'Now add a docstring [[memory]]'))
        .expect(200);
      expect(second.body.turn.items[1].text).toContain('1) "Write a hello world program in Python"');

      const read = await request(gw.url).post('/api/thread/read').send({ threadId, includeTurns: true }).expect(200);
      expect(read.body.thread.preview).toBe('Write a hello world program in Python');
      const turns = read.body.thread.turns;
      expect(turns.map((t: { id: string }) => t.id)).toEqual([first.body.turn.id, second.body.turn.id]);
      expect(turns.map((t: { status: string }) => t.status)).toEqual(['completed', 'completed']);
      expect(turns[0].items.map((i: Item) => [i.type, i.text])).toEqual([
        ['userMessage', 'Write a hello world program in Python'],
        ['agentMessage', 'Hello from the offline provider. You said: Write a hello world program in Python'],
      ]);
      expect(turns[1].items[0]).toMatchObject({ type: 'userMessage', text: 'Now add a docstring [[memory]]' });

      const withoutTurns = await request(gw.url).post('/api/thread/read').send({ threadId }).expect(200);
      expect(withoutTurns.body.thread.turns).toBeUndefined();
    });

    it('works unchanged from JavaScript fetch', async () => {
      const post = (path: string, body: unknown) =>
        fetch(`${gw.url}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        }).then((r) => r.json() as Promise<any>);
      const { thread } = await post('/api/thread/start', { cwd: workspace });
      const { turn } = await post('/api/turn/start', {
        threadId: thread.id,
        input: [{ type: 'text', text: 'Write a hello world program in Python' }],
      });
      expect(turn.status).toBe('completed');
      expect(turn.items.at(-1).text).toContain('Write a hello world program in Python');
    });

    it('works unchanged from Python requests', async () => {
      const script = [
        'import requests, sys',
        'base = sys.argv[1]',
        'thread = requests.post(f"{base}/api/thread/start", json={"cwd": sys.argv[2]}).json()["thread"]',
        'r = requests.post(f"{base}/api/turn/start", json={"threadId": thread["id"], "input": [{"type": "text", "text": "Write a hello world program in Python"}]})',
        'turn = r.json()["turn"]',
        'print(r.status_code, turn["status"], turn["items"][-1]["text"])',
      ].join('\n');
      // Asynchronous: the gateway answering the script runs in this very process.
      const { stdout } = await promisify(execFile)(pythonWithRequests(), ['-c', script, gw.url, workspace], {
        encoding: 'utf8',
      });
      expect(stdout.trim()).toBe(
        '200 completed Hello from the offline provider. You said: Write a hello world program in Python',
      );
    });
  });

  describe('streaming (SSE)', () => {
    it('streams the normalized events in order, read from the raw bytes', async () => {
      const threadId = await startThread(gw);
      const res = await postSse(
        gw.url,
        '/api/turn/start',
        turnBody(threadId, '[[reasoning: plan]] [[deltas: 4]] [[reply: streamed answer]]'),
      );
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.headers['cache-control']).toContain('no-cache');
      expect(res.headers['x-accel-buffering']).toBe('no');
      // The offline provider's model is in the catalog the gateway gives codex: no "Model metadata not found" warning.
      const names = res.events.map((e) => e.event);
      expect(names).not.toContain('warning');
      // Nor, on its stderr, an "Unknown model" for the models codex looks up itself (its guardian's).
      const stderr = gw.app.get(AppServerTransport).stderrOf('default');
      expect(stderr.filter((line) => /Unknown model|metadata not found/i.test(line))).toEqual([]);
      expect(names[0]).toBe('turn.started');
      expect(names.slice(-2)).toEqual(['usage', 'turn.completed']);
      for (const e of res.events) expect(e.json.type).toBe(e.event);
      const textDeltas = res.events.filter((e) => e.event === 'item.delta' && e.json.kind === 'text');
      expect(textDeltas.map((e) => e.json.delta).join('')).toBe('streamed answer');
      expect(textDeltas).toHaveLength(4);
      const reasoningDone = names.indexOf('item.completed', names.indexOf('item.delta'));
      const messageStarted = res.events.findIndex(
        (e) => e.event === 'item.started' && e.json.item.type === 'agentMessage',
      );
      expect(reasoningDone).toBeGreaterThan(0);
      expect(messageStarted).toBeGreaterThan(0);
      const completedMessage = res.events.find(
        (e) => e.event === 'item.completed' && e.json.item.type === 'agentMessage',
      );
      expect(completedMessage!.json.item.text).toBe('streamed answer');
      expect(res.events.at(-1)!.json).toMatchObject({ status: 'completed', error: null });
      // Every event is on its own `event:` + `data:` frame.
      expect(res.raw).toMatch(/^event: [a-z.]+\ndata: \{.*\}\n\n/);
    });

    it('streams with "stream": true as well as with the Accept header', async () => {
      const threadId = await startThread(gw);
      const res = await postSse(gw.url, '/api/turn/start', turnBody(threadId, 'hi', { stream: true }), {
        headers: { accept: 'application/json' },
      });
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.events.at(-1)!.event).toBe('turn.completed');
    });

    it('gives an error before the first event a real HTTP status', async () => {
      const res = await postSse(gw.url, '/api/turn/start', turnBody('01a200e2-d2d5-70e0-bc05-000000000000', 'hi'));
      expect(res.status).toBe(404);
      expect(JSON.parse(res.raw)).toMatchObject({ statusCode: 404, message: 'thread not found' });
    });
  });

  describe('approvals', () => {
    const shell = '[[shell: echo rest-approval-ok]]';

    it('a synchronous turn waits for an approval another client gives, then returns the real output', async () => {
      const threadId = await startThread(gw, { approvalPolicy: 'untrusted' });
      const pending = request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, shell))
        .then((r) => r);
      const approval = await waitForApproval(gw, threadId);
      expect(approval).toMatchObject({
        id: expect.stringMatching(/^appr_/),
        kind: 'command',
        threadId,
        turnId: expect.any(String),
        itemId: expect.any(String),
        command: expect.stringContaining('echo rest-approval-ok'),
        cwd: expect.any(String),
        availableDecisions: ['accept', 'acceptForSession', 'decline', 'cancel'],
        ageSeconds: expect.any(Number),
      });
      await request(gw.url).post(`/api/approvals/${approval.id}`).send({ decision: 'accept' }).expect(200, {
        id: approval.id,
        decision: 'accept',
        status: 'resolved',
      });
      const res = await pending;
      expect(res.status).toBe(200);
      const cmd = res.body.turn.items.find((i: Item) => i.type === 'commandExecution');
      expect(cmd).toMatchObject({ status: 'completed', exitCode: 0 });
      expect(cmd.output).toContain('rest-approval-ok');
      expect(res.body.turn.items.at(-1).text).toContain('rest-approval-ok');
      // Answered once: a second answer conflicts; the list is empty again.
      await request(gw.url).post(`/api/approvals/${approval.id}`).send({ decision: 'accept' }).expect(409);
      expect((await request(gw.url).get('/api/approvals').expect(200)).body.data).toEqual([]);
    });

    it('decline: the command is not run and the turn completes', async () => {
      const threadId = await startThread(gw, { approvalPolicy: 'untrusted' });
      const pending = request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, shell))
        .then((r) => r);
      const approval = await waitForApproval(gw, threadId);
      await request(gw.url).post(`/api/approvals/${approval.id}`).send({ decision: 'decline' }).expect(200);
      const res = await pending;
      expect(res.body.turn.status).toBe('completed');
      expect(res.body.turn.items.find((i: Item) => i.type === 'commandExecution')).toMatchObject({
        status: 'declined',
      });
      expect(res.body.turn.items.at(-1).text).toContain('The command was not run');
    });

    it('the SSE stream shows the request with its id and its resolution', async () => {
      const threadId = await startThread(gw, { approvalPolicy: 'untrusted' });
      const streamed = postSse(gw.url, '/api/turn/start', turnBody(threadId, shell));
      const approval = await waitForApproval(gw, threadId);
      await request(gw.url).post(`/api/approvals/${approval.id}`).send({ decision: 'acceptForSession' }).expect(200);
      const res = await streamed;
      const requested = res.events.find((e) => e.event === 'approval.requested');
      const resolved = res.events.find((e) => e.event === 'approval.resolved');
      expect(requested!.json.approval.id).toBe(approval.id);
      expect(resolved!.json).toMatchObject({
        approvalId: approval.id,
        decision: 'acceptForSession',
        reason: 'answered',
      });
      expect(res.events.indexOf(requested!)).toBeLessThan(res.events.indexOf(resolved!));
      expect(res.events.at(-1)!.json.status).toBe('completed');
    });

    it('refuses unknown ids (404) and unknown decisions (400 listing the allowed ones)', async () => {
      await request(gw.url).post('/api/approvals/appr_unknown').send({ decision: 'accept' }).expect(404);
      const bad = await request(gw.url).post('/api/approvals/appr_unknown').send({ decision: 'allow' }).expect(400);
      expect(bad.body.message.join(' ')).toContain('accept, acceptForSession, decline, cancel');
    });
  });

  describe('interrupt, fork, list, skills', () => {
    it('interrupts a slow turn: 200, and the stream ends with the turn interrupted', async () => {
      const threadId = await startThread(gw);
      let turnId = '';
      let interrupted = null as Promise<number> | null;
      // A turn that never ends by itself: only the interrupt ends it.
      const streamed = postSse(gw.url, '/api/turn/start', turnBody(threadId, '[[stall: 1]] long'), {
        until: (events) => {
          const started = events.find((e) => e.event === 'item.delta');
          if (started && !turnId) {
            turnId = started.json.turnId;
            interrupted = request(gw.url)
              .post('/api/turn/interrupt')
              .send({ threadId, turnId })
              .then((r) => r.status);
          }
          return false;
        },
      });
      const res = await streamed;
      expect(turnId).not.toBe('');
      expect(await interrupted).toBe(200);
      expect(res.events.at(-1)!.json).toMatchObject({ type: 'turn.completed', status: 'interrupted', turnId });
      await request(gw.url).post('/api/turn/interrupt').send({ threadId, turnId }).expect(404);
    });

    it('fork copies the history into a new thread; new turns there leave the original untouched', async () => {
      const threadId = await startThread(gw);
      await request(gw.url).post('/api/turn/start').send(turnBody(threadId, 'original message')).expect(200);
      const fork = await request(gw.url).post('/api/thread/fork').send({ threadId }).expect(200);
      const forkId = fork.body.thread.id;
      expect(forkId).not.toBe(threadId);
      expect(fork.body.thread.forkedFromId).toBe(threadId);
      const forkRead = await request(gw.url)
        .post('/api/thread/read')
        .send({ threadId: forkId, includeTurns: true })
        .expect(200);
      expect(forkRead.body.thread.turns[0].items[0].text).toBe('original message');
      await request(gw.url).post('/api/turn/start').send(turnBody(forkId, 'only on the fork')).expect(200);
      const original = await request(gw.url)
        .post('/api/thread/read')
        .send({ threadId, includeTurns: true })
        .expect(200);
      expect(original.body.thread.turns).toHaveLength(1);
      const forked = await request(gw.url)
        .post('/api/thread/read')
        .send({ threadId: forkId, includeTurns: true })
        .expect(200);
      expect(forked.body.thread.turns).toHaveLength(2);
    });

    it('lists created threads newest first, with a cursor', async () => {
      const a = await startThread(gw);
      await request(gw.url).post('/api/turn/start').send(turnBody(a, 'first of two')).expect(200);
      const b = await startThread(gw);
      await request(gw.url).post('/api/turn/start').send(turnBody(b, 'second of two')).expect(200);
      const page = await request(gw.url).post('/api/thread/list').send({ limit: 2 }).expect(200);
      expect(page.body.data.map((t: { id: string }) => t.id)).toEqual([b, a]);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      const next = await request(gw.url)
        .post('/api/thread/list')
        .send({ limit: 2, cursor: page.body.nextCursor })
        .expect(200);
      // The next page goes on from the first: older threads, none of the first page's.
      expect(next.body.data.length).toBeGreaterThan(0);
      const ids = next.body.data.map((t: { id: string }) => t.id);
      expect(ids).not.toContain(b);
      expect(ids).not.toContain(a);
    });

    it("lists a SKILL.md placed in the tenant's CODEX_HOME; config/write disables and re-enables it", async () => {
      const home = gw.app.get(AppServerTransport).homeOf('default');
      mkdirSync(join(home, 'skills', 'release-notes'), { recursive: true });
      writeFileSync(
        join(home, 'skills', 'release-notes', 'SKILL.md'),
        '---\nname: release-notes\ndescription: Write release notes from the git log\n---\n\nRead the log, then write notes.\n',
      );
      const find = async () => {
        const res = await request(gw.url).post('/api/skills/list').send({ forceReload: true }).expect(200);
        return res.body.data[0].skills.find((s: { name: string }) => s.name === 'release-notes');
      };
      expect(await find()).toMatchObject({
        name: 'release-notes',
        description: 'Write release notes from the git log',
        enabled: true,
      });
      await request(gw.url)
        .post('/api/skills/config/write')
        .send({ name: 'release-notes', enabled: false })
        .expect(200, {
          effectiveEnabled: false,
        });
      expect((await find()).enabled).toBe(false);
      await request(gw.url)
        .post('/api/skills/config/write')
        .send({ name: 'release-notes', enabled: true })
        .expect(200, {
          effectiveEnabled: true,
        });
      expect((await find()).enabled).toBe(true);

      // A turn may name the skill by the path skills/list gave; a path outside the tenant's home and
      // workspace roots is refused (codex would read it into the model's context).
      const threadId = await startThread(gw);
      const skill = (path: string) => ({ threadId, input: [{ type: 'skill', name: 'release-notes', path }] });
      const used = await request(gw.url)
        .post('/api/turn/start')
        .send(skill((await find()).path));
      expect(used.status).toBe(200);
      expect(used.body.turn.status).toBe('completed');
      const outside = await request(gw.url).post('/api/turn/start').send(skill('/etc/passwd'));
      expect(outside.status).toBe(400);
      expect(outside.body.message).toMatch(/input\[0\]\.path is outside the workspace roots/);
    });
  });

  describe('client disconnects interrupt the turn', () => {
    it.each([
      ['streaming', true],
      ['synchronous', false],
    ])('%s turn/start', async (_label, stream) => {
      const transport = gw.app.get(AppServerTransport);
      const threadId = await startThread(gw);
      const running = (async () => {
        const deadline = Date.now() + 15_000;
        while (transport.stats().runningTurns === 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 300)); // let the first deltas flow
      })();
      await postSse(gw.url, '/api/turn/start', turnBody(threadId, '[[slow]] bye', { stream }), {
        headers: stream ? {} : { accept: 'application/json' },
        abortWhen: running,
      });
      // The next turn on the thread runs (it waits for the abandoned one to be interrupted, not for it to finish).
      const next = await request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, '[[reply: after]]'))
        .expect(200);
      expect(next.body.turn.items.at(-1).text).toBe('after');
      const read = await request(gw.url).post('/api/thread/read').send({ threadId, includeTurns: true }).expect(200);
      expect(read.body.thread.turns[0].status).toBe('interrupted');
      expect(transport.stats().runningTurns).toBe(0);
    });
  });

  describe('bad input', () => {
    it('cwd must resolve inside the workspace roots', async () => {
      const outside = mkdtempSync(join(gw.dataDir, 'outside-'));
      mkdirSync(join(workspace, 'inner'), { recursive: true });
      const link = join(workspace, 'escape-link');
      symlinkSync(outside, link);
      for (const cwd of ['/etc', '../', `${workspace}/../..`, link, outside, join(workspace, 'missing')]) {
        const res = await request(gw.url).post('/api/thread/start').send({ cwd }).expect(400);
        expect(res.body.message).toMatch(/workspace roots/);
      }
      const ok = await request(gw.url).post('/api/thread/start').send({ cwd: 'inner' }).expect(200);
      expect(ok.body.thread.cwd).toBe(join(workspace, 'inner'));
      const threadId = ok.body.thread.id;
      await request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, 'x', { cwd: '/etc' }))
        .expect(400);
      await request(gw.url)
        .post('/api/skills/list')
        .send({ cwds: ['/etc'] })
        .expect(400);
    });

    it('unknown or malformed thread and turn ids are 404 without codex error text', async () => {
      for (const threadId of ['01a200e2-d2d5-70e0-bc05-000000000000', 'not-a-uuid', '../../etc']) {
        for (const path of ['/api/thread/read', '/api/thread/resume', '/api/thread/fork']) {
          const res = await request(gw.url).post(path).send({ threadId }).expect(404);
          expect(res.body.message).toBe('thread not found');
        }
        await request(gw.url).post('/api/turn/start').send(turnBody(threadId, 'hi')).expect(404);
        await request(gw.url).post('/api/turn/interrupt').send({ threadId, turnId: 'x' }).expect(404);
      }
    });

    it('missing or empty input is 400', async () => {
      const threadId = await startThread(gw);
      const missing = await request(gw.url).post('/api/turn/start').send({ threadId }).expect(400);
      expect(missing.body.message.join(' ')).toMatch(/input/);
      const empty = await request(gw.url).post('/api/turn/start').send({ threadId, input: [] }).expect(400);
      expect(empty.body.message).toContain('input must contain at least one item');
      await request(gw.url).post('/api/turn/start').send({ threadId, input: 'hello' }).expect(400);
      const noText = await request(gw.url)
        .post('/api/turn/start')
        .send({ threadId, input: [{ type: 'text' }] })
        .expect(400);
      expect(noText.body.message.join(' ')).toMatch(/text/);
      const badType = await request(gw.url)
        .post('/api/turn/start')
        .send({ threadId, input: [{ type: 'audio' }] })
        .expect(400);
      expect(badType.body.message.join(' ')).toContain('text, image, localImage, skill');
      await request(gw.url)
        .post('/api/turn/start')
        .send({ input: [{ type: 'text', text: 'x' }] })
        .expect(400);
    });

    it('unknown enum values are 400 listing the allowed values; danger-full-access needs the gateway to allow it', async () => {
      const policy = await request(gw.url).post('/api/thread/start').send({ approvalPolicy: 'sometimes' }).expect(400);
      expect(policy.body.message.join(' ')).toContain('untrusted, on-request, never');
      const sandbox = await request(gw.url).post('/api/thread/start').send({ sandbox: 'wide-open' }).expect(400);
      expect(sandbox.body.message.join(' ')).toContain('read-only, workspace-write, danger-full-access');
      const danger = await request(gw.url)
        .post('/api/thread/start')
        .send({ sandbox: 'danger-full-access' })
        .expect(400);
      expect(danger.body.message).toMatch(/not allowed/);
      const threadId = await startThread(gw);
      await request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, 'x', { effort: 'extreme' }))
        .expect(400);
      await request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, 'x', { sandbox: 'danger-full-access' }))
        .expect(400);
    });

    it('a turn/start on a thread that is running a turn is 409, not a silent steer', async () => {
      const threadId = await startThread(gw);
      const first = postSse(gw.url, '/api/turn/start', turnBody(threadId, '[[delay: 60]] [[deltas: 10]] busy'));
      const deadline = Date.now() + 10_000;
      while (gw.app.get(AppServerTransport).stats().runningTurns === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const res = await request(gw.url).post('/api/turn/start').send(turnBody(threadId, 'again')).expect(409);
      expect(res.body.message).toMatch(/already runs a turn/);
      expect((await first).events.at(-1)!.json.status).toBe('completed');
    });

    it('a turn the provider fails answers 502 with the failed turn in the body; one it refuses as malformed, 400', async () => {
      const threadId = await startThread(gw);
      const res = await request(gw.url).post('/api/turn/start').send(turnBody(threadId, '[[status: 500]]')).expect(502);
      expect(res.body).toMatchObject({
        statusCode: 502,
        code: 'PROVIDER_ERROR',
        correlationId: expect.any(String),
        turn: { threadId, status: 'failed', error: { code: 'PROVIDER_ERROR' } },
      });
      expect(res.headers['x-request-id']).toBe(res.body.correlationId);
      const refused = await request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, '[[status: 400]]'))
        .expect(400);
      expect(refused.body).toMatchObject({ code: 'PROVIDER_REJECTED', turn: { status: 'failed' } });
      expect(refused.body.message).toBe('offline provider: scripted HTTP 400');
    });

    it('images must be inline data URLs; skills config needs exactly one selector', async () => {
      const threadId = await startThread(gw);
      const img = await request(gw.url)
        .post('/api/turn/start')
        .send({ threadId, input: [{ type: 'image', url: 'https://example.test/cat.png' }] })
        .expect(400);
      expect(img.body.message).toMatch(/data: URL/);
      await request(gw.url).post('/api/skills/config/write').send({ enabled: true }).expect(400);
      await request(gw.url).post('/api/skills/config/write').send({ name: 'a', path: '/b', enabled: true }).expect(400);
      await request(gw.url).post('/api/skills/config/write').send({ name: 'a' }).expect(400);
    });
  });
});

describe('approval timeout over REST', () => {
  it('a synchronous turn returns once an unanswered approval is declined by the timeout', async () => {
    const gw = await startGateway('rest-timeout', { CODEX_APPROVAL_TIMEOUT_SECONDS: '1' });
    try {
      const threadId = await startThread(gw, { approvalPolicy: 'untrusted' });
      const res = await request(gw.url)
        .post('/api/turn/start')
        .send(turnBody(threadId, '[[shell: echo never-approved]]'))
        .expect(200);
      expect(res.body.turn.status).toBe('completed');
      expect(res.body.turn.items.find((i: Item) => i.type === 'commandExecution')).toMatchObject({
        status: 'declined',
      });
      expect(res.body.turn.items.at(-1).text).toContain('The command was not run');
    } finally {
      await gw.close();
    }
  });
});

/** A Python that has `requests` (the system one has it once `.ci/run` installs python3-requests). */
function pythonWithRequests(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', 'import requests'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error('no python3 with the requests package (apt-get install python3-requests)');
}
