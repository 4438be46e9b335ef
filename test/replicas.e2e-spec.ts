import { createServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import OpenAI from 'openai';
import { DrainService } from '../apps/gateway/src/common/lifecycle/drain.service';
import { ownerOf } from '../apps/gateway/src/replicas/ownership';
import { startGateway, type TestGateway } from './support/gateway';
import { connectH2, openAgentStream } from './support/h2';
import { until } from './support/harness';
import { postSse } from './support/sse';

/**
 * Three replicas of the gateway on loopback, each with its own data dir, naming each other (CODEX_PEERS): a
 * tenant is served by its owner whichever replica a request reaches; an owner that is down makes its
 * tenants' requests 503 with Retry-After (never served elsewhere); back, it has all of its tenants' data.
 */
const TENANTS = ['ada', 'dee', 'eve'] as const; // owners 2, 0 and 1 of three replicas
const TOKENS = TENANTS.map((t) => `${t}:${t}-replica-token`).join(',');
const token = (tenant: string) => `${tenant}-replica-token`;

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const server = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve(server)),
      );
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

describe('three replicas: every tenant has exactly one owner', () => {
  const replicas: Array<TestGateway | null> = [null, null, null];
  let ports: number[] = [];
  let h2Ports: number[] = [];
  let dataDirs: string[] = [];

  const boot = async (i: number, dataDir?: string) => {
    replicas[i] = await startGateway(
      `replica-${i}`,
      {
        CODEX_GATEWAY_TOKENS: TOKENS,
        CODEX_PEERS: ports.map((p) => `http://127.0.0.1:${p}`).join(','),
        CODEX_H2_PEERS: h2Ports.map((p) => `http://127.0.0.1:${p}`).join(','),
        CODEX_H2_PORT: String(h2Ports[i]),
        CODEX_REPLICA_INDEX: String(i),
      },
      { port: ports[i], dataDir },
    );
    dataDirs[i] = replicas[i].dataDir;
  };

  beforeAll(async () => {
    const free = await freePorts(6);
    ports = free.slice(0, 3);
    h2Ports = free.slice(3);
    dataDirs = [];
    for (const i of [0, 1, 2]) await boot(i);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => (r ? r.close() : Promise.resolve())));
  });

  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const openai = (tenant: string, via: number) =>
    new OpenAI({ apiKey: token(tenant), baseURL: `${url(via)}/v1`, maxRetries: 0 });

  it('the owners of the test tenants are spread over the three replicas', () => {
    expect(TENANTS.map((t) => ownerOf(t, 3))).toEqual([2, 0, 1]);
  });

  it('whichever replica a request reaches, its tenant is served by the owner (and its session continues anywhere)', async () => {
    for (const tenant of TENANTS) {
      const owner = ownerOf(tenant, 3);
      const first = await openai(tenant, (owner + 1) % 3)
        .chat.completions.create({ model: 'x', messages: [{ role: 'user', content: `${tenant} remembers plums` }] })
        .withResponse();
      expect({ tenant, servedBy: first.response.headers.get('x-codex-replica') }).toEqual({
        tenant,
        servedBy: String(owner),
      });
      const session = first.response.headers.get('x-codex-session-id')!;
      const second = await openai(tenant, (owner + 2) % 3).chat.completions.create(
        { model: 'x', messages: [{ role: 'user', content: '[[memory]]' }] },
        { headers: { 'X-Codex-Session-Id': session } },
      );
      expect(second.choices[0].message.content).toContain(`1) "${tenant} remembers plums"`);
    }
  });

  it('streams and MCP sessions are forwarded as they are', async () => {
    const tenant = 'eve';
    const via = (ownerOf(tenant, 3) + 1) % 3;
    const stream = await postSse(
      url(via),
      '/v1/chat/completions',
      { model: 'x', stream: true, messages: [{ role: 'user', content: '[[deltas: 5]] [[reply: through a peer]]' }] },
      { headers: { Authorization: `Bearer ${token(tenant)}` } },
    );
    expect(stream.status).toBe(200);
    expect(stream.headers['x-codex-replica']).toBe(String(ownerOf(tenant, 3)));
    expect(stream.events.at(-1)!.data).toBe('[DONE]');
    const text = stream.events.map((e) => e.json?.choices?.[0]?.delta?.content ?? '').join('');
    expect(text).toBe('through a peer');

    const client = new Client({ name: 'replica-test', version: '1' });
    const servedBy = new Set<string | null>();
    const transport = new StreamableHTTPClientTransport(new URL(`${url(via)}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token(tenant)}` } },
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        servedBy.add(res.headers.get('x-codex-replica'));
        return res;
      },
    });
    await client.connect(transport);
    try {
      const first = (await client.callTool({
        name: 'codex',
        arguments: { prompt: 'mcp via a peer' },
      })) as CallToolResult;
      const { threadId } = first.structuredContent as { threadId: string };
      const again = (await client.callTool({
        name: 'codex-reply',
        arguments: { threadId, prompt: '[[memory]]' },
      })) as CallToolResult;
      expect((again.content[0] as { text: string }).text).toContain('1) "mcp via a peer"');
      expect([...servedBy]).toEqual([String(ownerOf(tenant, 3))]);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('the HTTP/2 agent stream is relayed to the owner, frames both ways; an owner that stops ends it with its terminate frame', async () => {
    const tenant = 'dee';
    const owner = ownerOf(tenant, 3);
    const via = (owner + 1) % 3;
    const h2 = connectH2(`http://127.0.0.1:${h2Ports[via]}`);
    try {
      const s = openAgentStream(h2, { headers: { authorization: `Bearer ${token(tenant)}` } });
      expect((await s.response())['x-codex-replica']).toBe(String(owner));
      s.send({ type: 'user_message', id: 'm1', content: '[[deltas: 3]] [[reply: relayed answer]]' });
      const done = await s.next((f) => f.type === 'turn_completed');
      expect(done).toMatchObject({ status: 'completed', id: 'm1' });
      const deltas = s.frames.filter((f) => f.type === 'item' && f.phase === 'delta');
      expect(deltas.map((f) => f.responseItem.delta).join('')).toBe('relayed answer');

      // The owner stops while a turn streams: its `terminate` frame comes through the relay, and the stream
      // ends (a killed owner is an `error` frame from the relay: the process test, test/replicas-nginx).
      const from = s.frames.length;
      s.send({ type: 'user_message', id: 'm2', sessionId: done.sessionId, content: '[[slow: 1000]] a long one' });
      await s.next((f) => f.type === 'item' && f.phase === 'delta', 20_000, from);
      const stopped = replicas[owner]!;
      replicas[owner] = null;
      const closing = stopped.close();
      await s.closed;
      expect(s.frames.at(-1)).toMatchObject({ type: 'terminate' });
      await closing;
      // While it is down a new stream for the tenant is refused with 503 + Retry-After.
      const refused = openAgentStream(h2, { headers: { authorization: `Bearer ${token(tenant)}` } });
      const headers = await refused.response();
      expect(headers[':status']).toBe(503);
      expect(headers['retry-after']).toMatch(/^\d+$/);
      await boot(owner, dataDirs[owner]);
    } finally {
      h2.close();
    }
  });

  it("an owner that is down: its tenants get 503 with Retry-After (never another replica's service); back, all their data is there", async () => {
    const tenant = 'ada';
    const owner = ownerOf(tenant, 3);
    const other = (owner + 1) % 3;
    const stored = await openai(tenant, other).responses.create({ model: 'x', input: 'kept across the failure' });
    const chat = await openai(tenant, other)
      .chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'before the failure' }] })
      .withResponse();
    const session = chat.response.headers.get('x-codex-session-id')!;

    await replicas[owner]!.close();
    replicas[owner] = null;
    const down = await fetch(`${url(other)}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token(tenant)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'while it is down' }] }),
    });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe('replica_unavailable');
    // The other tenants are untouched.
    for (const t of TENANTS.filter((t) => ownerOf(t, 3) !== owner)) {
      const ok = await openai(t, other).chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: 'still here' }],
      });
      expect(ok.choices[0].message.content).toContain('still here');
    }

    await boot(owner, dataDirs[owner]);
    expect((await openai(tenant, other).responses.retrieve(stored.id)).output_text).toContain(
      'kept across the failure',
    );
    const resumed = await openai(tenant, other).chat.completions.create(
      { model: 'x', messages: [{ role: 'user', content: '[[memory]]' }] },
      { headers: { 'X-Codex-Session-Id': session } },
    );
    expect(resumed.choices[0].message.content).toContain('1) "before the failure"');
  });
  it('a compressed body is read once, by the replica it reaches, and forwarded as plain JSON', async () => {
    const tenant = 'ada';
    const via = (ownerOf(tenant, 3) + 1) % 3;
    const res = await fetch(`${url(via)}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token(tenant)}`,
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
      },
      body: gzipSync(JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'squeezed' }] })),
    });
    expect({ status: res.status, servedBy: res.headers.get('x-codex-replica') }).toEqual({
      status: 200,
      servedBy: String(ownerOf(tenant, 3)),
    });
    expect(((await res.json()) as any).choices[0].message.content).toContain('squeezed');
  });

  it('a relaying replica that stops: its drain waits for what it forwards, then its relayed streams end with terminate', async () => {
    const tenant = 'eve';
    const owner = ownerOf(tenant, 3);
    const relay = (owner + 1) % 3;
    // An agent stream relayed by it, idle after one turn.
    const h2 = connectH2(`http://127.0.0.1:${h2Ports[relay]}`);
    const agent = openAgentStream(h2, { headers: { authorization: `Bearer ${token(tenant)}` } });
    agent.send({ type: 'user_message', content: 'one turn' });
    await agent.next((f) => f.type === 'turn_completed');
    // A streamed completion forwarded by it, still running when the relay starts draining.
    const streaming = postSse(
      url(relay),
      '/v1/chat/completions',
      { model: 'x', stream: true, messages: [{ role: 'user', content: '[[slow: 100]] [[reply: all of it]]' }] },
      { headers: { Authorization: `Bearer ${token(tenant)}` } },
    );
    const app = replicas[relay]!.app;
    await until(() => replicas[owner]!.app.get(DrainService).runningTurns() > 0, 'the turn running on the owner');
    // As on SIGTERM: drain, then close.
    await app.get(DrainService).drain(20_000);
    replicas[relay] = null;
    await app.close();
    // The drain waited for the forwarded stream: its client has the whole answer.
    const stream = await streaming;
    expect(stream.events.at(-1)!.data).toBe('[DONE]');
    expect(stream.events.map((e) => e.json?.choices?.[0]?.delta?.content ?? '').join('')).toBe('all of it');
    await agent.closed;
    expect(agent.frames.at(-1)).toMatchObject({ type: 'terminate', reason: expect.stringContaining('is stopping') });
    h2.close();
    await boot(relay, dataDirs[relay]);
  });
});
