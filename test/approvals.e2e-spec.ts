import OpenAI from 'openai';
import { AppServerTransport } from '@app/codex-transport';
import { AgentStreamServer } from '../apps/gateway/src/agent-stream/agent-stream.server';
import { startGateway, type TestGateway } from './support/gateway';
import { connectH2, openAgentStream } from './support/h2';
import { until } from './support/harness';
import { postSse } from './support/sse';

const TOKEN = 'approvals-token-0123';
const auth = { authorization: `Bearer ${TOKEN}` };

/**
 * One rule for approvals on every surface (README, "Approvals"): a turn that waits on one lists it at
 * `GET /api/approvals`, where it is answered; it is announced in the protocol's own stream (REST and /chat
 * `approval.requested`, HTTP/2 `command_prompt`, Responses a `codex_approval_request` item, Chat
 * Completions a `codex_event` chunk when `codex_events` is on); nobody answering declines it at the
 * timeout; a client that leaves interrupts its turn and voids the approval.
 */
describe('approvals on every protocol (CODEX_APPROVAL_POLICY=untrusted)', () => {
  let gw: TestGateway;
  let client: OpenAI;
  const transport = () => gw.app.get(AppServerTransport);

  beforeAll(async () => {
    gw = await startGateway('approvals', {
      CODEX_GATEWAY_TOKEN: TOKEN,
      CODEX_APPROVAL_POLICY: 'untrusted',
      CODEX_APPROVAL_TIMEOUT_SECONDS: '3600',
    });
    client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gw?.close();
  });

  afterEach(async () => {
    await until(
      () => transport().stats().pendingApprovals === 0 && transport().stats().runningTurns === 0,
      'nothing left waiting',
    );
  });

  /** Waits for the approval of `marker`'s command at GET /api/approvals, answers it, and returns it. */
  async function answer(marker: string, decision = 'accept'): Promise<{ id: string; command: string }> {
    let found: { id: string; command: string } | undefined;
    await until(async () => {
      const listed = (await (await fetch(`${gw.url}/api/approvals`, { headers: auth })).json()) as {
        data: Array<{ id: string; command: string }>;
      };
      found = listed.data.find((a) => a.command.includes(marker));
      return found !== undefined;
    }, `the approval of ${marker} is listed`);
    const res = await fetch(`${gw.url}/api/approvals/${found!.id}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ decision }),
    });
    expect(res.status).toBe(200);
    return found!;
  }

  it('REST: listed, answered there, announced in the SSE stream', async () => {
    const thread = (await (
      await fetch(`${gw.url}/api/thread/start`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{}',
      })
    ).json()) as { thread: { id: string } };
    const turn = postSse(
      gw.url,
      '/api/turn/start',
      { threadId: thread.thread.id, input: [{ type: 'text', text: '[[shell: echo rest-ok]]' }] },
      { headers: auth },
    );
    const approval = await answer('rest-ok');
    const events = (await turn).events;
    expect(events.find((e) => e.event === 'approval.requested')!.json.approval.id).toBe(approval.id);
    expect(events.find((e) => e.event === 'approval.resolved')!.json).toMatchObject({
      approvalId: approval.id,
      decision: 'accept',
      reason: 'answered',
    });
    expect(
      events.find((e) => e.event === 'item.completed' && e.json.item.type === 'commandExecution')!.json.item.output,
    ).toContain('rest-ok');
  });

  it('/chat: announced as approval.requested, the command runs once answered', async () => {
    const stream = postSse(gw.url, '/chat', { messages: [{ content: '[[shell: echo chat-ok]]' }] }, { headers: auth });
    const approval = await answer('chat-ok');
    const events = (await stream).events;
    expect(events.find((e) => e.event === 'approval.requested')!.json.approval.id).toBe(approval.id);
    expect(
      events.find((e) => e.event === 'item.completed' && e.json.item?.type === 'commandExecution')!.json.item.output,
    ).toContain('chat-ok');
  });

  it('HTTP/2: a command_prompt, answered at /api/approvals as well as with an approve frame', async () => {
    const h2 = connectH2(gw.app.get(AgentStreamServer).url);
    try {
      const s = openAgentStream(h2, { headers: auth });
      s.send({ type: 'user_message', content: '[[shell: echo h2-ok]]' });
      const prompt = await s.next((f) => f.type === 'command_prompt');
      const approval = await answer('h2-ok');
      expect(prompt.commandId).toBe(approval.id);
      const done = await s.next((f) => f.type === 'turn_completed');
      expect(done.status).toBe('completed');
      expect(JSON.stringify(s.frames)).toContain('h2-ok\\n');
      s.end();
      await s.closed;
    } finally {
      h2.close();
    }
  });

  it('Chat Completions, non-stream: the request waits; answered at /api/approvals, the reply has the output', async () => {
    const pending = client.chat.completions.create({
      model: 'x',
      messages: [{ role: 'user', content: '[[shell: echo completion-ok]]' }],
    });
    await answer('completion-ok');
    expect((await pending).choices[0].message.content).toContain('completion-ok');
  });

  it('Chat Completions, stream with codex_events: a codex_event chunk announces it and another its decision', async () => {
    const stream = postSse(
      gw.url,
      '/v1/chat/completions',
      {
        model: 'x',
        stream: true,
        codex_events: true,
        messages: [{ role: 'user', content: '[[shell: echo chunk-ok]]' }],
      },
      { headers: auth },
    );
    const approval = await answer('chunk-ok');
    const chunks = (await stream).events.filter((e) => e.json?.codex_event).map((e) => e.json.codex_event);
    expect(chunks.find((c) => c.type === 'approval.requested')).toMatchObject({
      approval: { id: approval.id, command: expect.stringContaining('chunk-ok') },
    });
    expect(chunks.find((c) => c.type === 'approval.resolved')).toMatchObject({
      approvalId: approval.id,
      decision: 'accept',
    });
  });

  it('Responses, non-stream and stream: a codex_approval_request item, open while it waits, done with the decision', async () => {
    const created = client.responses.create({ input: '[[shell: echo response-ok]]' });
    const approval = await answer('response-ok', 'decline');
    const response = await created;
    expect(response.status).toBe('completed');
    expect(response.output.find((o) => (o.type as string) === 'codex_approval_request')).toMatchObject({
      id: approval.id,
      status: 'completed',
      decision: 'decline',
      resolution: 'answered',
    });
    const streamed = postSse(
      gw.url,
      '/v1/responses',
      { input: '[[shell: echo streamed-ok]]', stream: true },
      { headers: auth },
    );
    const second = await answer('streamed-ok');
    const events = (await streamed).events;
    const added = events.find(
      (e) => e.event === 'response.output_item.added' && e.json.item.type === 'codex_approval_request',
    );
    expect(added!.json.item).toMatchObject({
      id: second.id,
      status: 'in_progress',
      decision: null,
      command: expect.stringContaining('streamed-ok'),
    });
    const done = events.find(
      (e) => e.event === 'response.output_item.done' && e.json.item.type === 'codex_approval_request',
    );
    expect(done!.json.item).toMatchObject({ id: second.id, status: 'completed', decision: 'accept' });
    expect(events.at(-1)!.event).toBe('response.completed');
  });

  it('Responses, background: returns at once; the approval is answered later; the response completes', async () => {
    const created = await client.responses.create({ input: '[[shell: echo background-ok]]', background: true });
    expect(created.status).toBe('in_progress');
    await answer('background-ok');
    await until(
      async () => (await client.responses.retrieve(created.id)).status === 'completed',
      'the background response completes',
    );
    const done = await client.responses.retrieve(created.id);
    expect(JSON.stringify(done.output)).toContain('background-ok');
  });

  it('a client that leaves while its turn waits on an approval interrupts the turn and voids the approval (Chat Completions, Responses, /chat)', async () => {
    for (const [path, body] of [
      [
        '/v1/chat/completions',
        { model: 'x', stream: true, messages: [{ role: 'user', content: '[[shell: echo gone-1]]' }] },
      ],
      ['/v1/responses', { input: '[[shell: echo gone-2]]', stream: true }],
      ['/chat', { messages: [{ content: '[[shell: echo gone-3]]' }] }],
    ] as const) {
      const waiting = until(() => transport().stats().pendingApprovals === 1, `${path}: the approval is pending`);
      const res = await postSse(gw.url, path, body, { headers: auth, abortWhen: waiting });
      expect(res.aborted).toBe(true);
      await until(
        () => transport().stats().pendingApprovals === 0 && transport().stats().runningTurns === 0,
        `${path}: approval voided, turn interrupted`,
      );
    }
  });
});

describe('an approval nobody answers, on Chat Completions', () => {
  it('is declined at CODEX_APPROVAL_TIMEOUT_SECONDS and the turn goes on', async () => {
    const gw = await startGateway('approvals-timeout', {
      CODEX_APPROVAL_POLICY: 'untrusted',
      CODEX_APPROVAL_TIMEOUT_SECONDS: '1',
    });
    try {
      const client = new OpenAI({ apiKey: 'none', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const answer = await client.chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: '[[shell: echo never-answered]]' }],
      });
      expect(answer.choices[0].message.content).toMatch(/The command was not run/);
      expect(gw.app.get(AppServerTransport).stats().pendingApprovals).toBe(0);
    } finally {
      await gw.close();
    }
  });
});
