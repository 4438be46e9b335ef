import { createServer } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import OpenAI from 'openai';
import { ownerOf } from '../apps/gateway/src/replicas/ownership';
import { startGateway, type TestGateway } from './support/gateway';
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
  let dataDirs: string[] = [];

  const boot = async (i: number, dataDir?: string) => {
    replicas[i] = await startGateway(
      `replica-${i}`,
      {
        CODEX_GATEWAY_TOKENS: TOKENS,
        CODEX_PEERS: ports.map((p) => `http://127.0.0.1:${p}`).join(','),
        CODEX_REPLICA_INDEX: String(i),
      },
      { port: ports[i], dataDir },
    );
    dataDirs[i] = replicas[i].dataDir;
  };

  beforeAll(async () => {
    ports = await freePorts(3);
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
    expect(stream.events.at(-1)!.data).toBe('[DONE]');
    const text = stream.events.map((e) => e.json?.choices?.[0]?.delta?.content ?? '').join('');
    expect(text).toBe('through a peer');

    const client = new Client({ name: 'replica-test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${url(via)}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token(tenant)}` } },
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
    } finally {
      await transport.terminateSession();
      await client.close();
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
});
