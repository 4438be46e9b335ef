import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type CallToolResult,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { AppServerTransport, resolveCodexBinary } from '@app/codex-transport';
import { OfflineProviderHost } from '../apps/gateway/src/codex/offline-provider.host';
import { makeDataDir, until } from './support/harness';
import { startGateway, type TestGateway } from './support/gateway';

/**
 * Codex as a remote MCP server (`/mcp`, Streamable HTTP), read with the official MCP TypeScript SDK client, and
 * with codex itself as the client.
 */
const TOKENS = 'alice:alice-mcp-token,bob:bob-mcp-token';

interface Report {
  threadId: string;
  turnId: string;
  status: string;
  content: string;
}

describe('MCP server at /mcp (Streamable HTTP, official MCP SDK client)', () => {
  let gw: TestGateway;
  const clients: Client[] = [];

  beforeAll(async () => {
    gw = await startGateway('mcp', { CODEX_GATEWAY_TOKENS: TOKENS });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await gw?.close();
  });

  async function connect(token: string, options: { elicitation?: boolean } = {}): Promise<Client> {
    const client = new Client(
      { name: 'gateway-test', version: '1' },
      { capabilities: options.elicitation ? { elicitation: {} } : {} },
    );
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  /** One JSON-RPC message POSTed by hand in a session (what an SDK client would not send). */
  const postMessage = (token: string, sessionId: string, message: Record<string, unknown>, signal?: AbortSignal) =>
    fetch(`${gw.url}/mcp`, {
      method: 'POST',
      signal,
      headers: {
        Authorization: `Bearer ${token}`,
        'Mcp-Session-Id': sessionId,
        'Mcp-Protocol-Version': '2025-11-25',
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify(message),
    });

  const report = (result: unknown) => (result as CallToolResult).structuredContent as unknown as Report;
  const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
  const running = () => gw.app.get(AppServerTransport).stats().runningTurns;

  it('401 with a bearer challenge without a token; an unknown session is 404', async () => {
    const res = await fetch(`${gw.url}/mcp`, { method: 'GET' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const unknown = await postMessage('alice-mcp-token', 'no-such-session', {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
    });
    expect(unknown.status).toBe(404);
  });

  it('lists the tools; codex answers and codex-reply continues the same conversation', async () => {
    const alice = await connect('alice-mcp-token');
    const { tools } = await alice.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['codex', 'codex-interrupt', 'codex-reply']);
    const codex = tools.find((t) => t.name === 'codex')!;
    expect(Object.keys(codex.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining([
        'prompt',
        'cwd',
        'model',
        'approval-policy',
        'sandbox',
        'base-instructions',
        'developer-instructions',
      ]),
    );

    const first = await alice.callTool({ name: 'codex', arguments: { prompt: 'mcp first question' } });
    expect(text(first)).toBe('Hello from the offline provider. You said: mcp first question');
    expect(report(first)).toMatchObject({
      status: 'completed',
      threadId: expect.any(String),
      turnId: expect.any(String),
    });
    const { threadId } = report(first);
    const second = await alice.callTool({
      name: 'codex-reply',
      arguments: { conversationId: threadId, prompt: '[[memory]]' },
    });
    expect(text(second)).toBe('I can see 2 user messages in this conversation. Earlier: 1) "mcp first question".');

    // Another tenant cannot continue it: its codex does not know the thread.
    const bob = await connect('bob-mcp-token');
    const stolen = await bob.callTool({ name: 'codex-reply', arguments: { threadId, prompt: 'steal [[memory]]' } });
    expect(stolen.isError).toBe(true);
    expect(text(stolen)).not.toContain('mcp first question');
    // Nor use alice's session.
    const sessionId = (alice.transport as StreamableHTTPClientTransport).sessionId!;
    const hijack = await postMessage('bob-mcp-token', sessionId, { jsonrpc: '2.0', id: 9, method: 'tools/list' });
    expect(hijack.status).toBe(404);
  });

  it('turns over MCP are counted under protocol="mcp"', async () => {
    const alice = await connect('alice-mcp-token');
    const count = async () => {
      const metrics = await (
        await fetch(`${gw.url}/metrics`, { headers: { Authorization: 'Bearer alice-mcp-token' } })
      ).text();
      return Number(/codex_gateway_turns_total\{protocol="mcp",status="completed"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    const before = await count();
    await alice.callTool({ name: 'codex', arguments: { prompt: 'counted' } });
    expect(await count()).toBe(before + 1);
  });

  it('a client that disconnects mid-call interrupts its turn', async () => {
    const alice = await connect('alice-mcp-token');
    const transport = alice.transport as StreamableHTTPClientTransport;
    const controller = new AbortController();
    const call = postMessage(
      'alice-mcp-token',
      transport.sessionId!,
      {
        jsonrpc: '2.0',
        id: 77,
        method: 'tools/call',
        params: { name: 'codex', arguments: { prompt: '[[stall]] left behind' } },
      },
      controller.signal,
    ).catch((e: unknown) => e);
    const provider = gw.app.get(OfflineProviderHost).instance!;
    await until(() => running() === 1 && provider.openStreams === 1, 'the model is called');
    controller.abort();
    await call;
    await until(
      () => running() === 0 && provider.openStreams === 0,
      "the turn was interrupted: codex let go of the model's stream",
    );
  });

  it('a failed turn is an error result with its reason; config overrides and arguments a tool does not define are refused', async () => {
    const alice = await connect('alice-mcp-token');
    const failed = await alice.callTool({ name: 'codex', arguments: { prompt: '[[status: 500]] x' } });
    expect(failed.isError).toBe(true);
    expect(report(failed).status).toBe('failed');
    const refused = await alice.callTool({
      name: 'codex',
      arguments: { prompt: 'x', config: { sandbox_mode: 'danger-full-access' } },
    });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/config overrides are not accepted/);
    const outside = await alice.callTool({ name: 'codex', arguments: { prompt: 'x', cwd: '/etc' } });
    expect(outside.isError).toBe(true);
    // A parameter of codex's own MCP server this gateway does not offer, and a typo: refused, not dropped.
    for (const [name, args] of [
      ['codex', { prompt: 'x', profile: 'fast' }],
      ['codex-reply', { threadId: report(failed).threadId, prompt: 'x', promt: 'y' }],
    ] as const) {
      const unknown = await alice.callTool({ name, arguments: args });
      expect(unknown.isError).toBe(true);
      expect(text(unknown)).toMatch(/Unrecognized key.*(profile|promt)/);
    }
    const { tools } = await alice.listTools();
    expect(tools.map((t) => t.inputSchema.additionalProperties)).toEqual([false, false, false]);
  });

  it('progress notifications arrive during a slow turn, coalesced', async () => {
    const alice = await connect('alice-mcp-token');
    const progress: string[] = [];
    const result = await alice.callTool(
      { name: 'codex', arguments: { prompt: '[[slow: 100]] [[deltas: 20]] progress please' } },
      undefined,
      {
        onprogress: (p) => progress.push(String(p.message)),
      },
    );
    expect(report(result).status).toBe('completed');
    expect(progress[0]).toMatch(/^thread .*: turn .* started$/);
    expect(progress.length).toBeGreaterThan(2);
    // 20 deltas 100 ms apart, sent at most every 250 ms: fewer notifications than deltas, the same text.
    expect(progress.length).toBeLessThan(20);
    expect(progress.slice(1).join('')).toBe(text(result));
  });

  it('codex-interrupt ends a running turn as interrupted', async () => {
    const alice = await connect('alice-mcp-token');
    let threadId = '';
    const call = alice.callTool({ name: 'codex', arguments: { prompt: '[[stall]] never ends' } }, undefined, {
      onprogress: (p) => (threadId ||= /^thread (\S+):/.exec(String(p.message))?.[1] ?? ''),
    });
    await until(() => threadId !== '', 'the turn started');
    const interrupt = await alice.callTool({ name: 'codex-interrupt', arguments: { threadId } });
    expect(interrupt.isError).toBeFalsy();
    expect(report(await call).status).toBe('interrupted');
  });

  it('notifications/cancelled for a running call interrupts its turn', async () => {
    const alice = await connect('alice-mcp-token');
    let threadId = '';
    const abort = new AbortController();
    const call = alice
      .callTool({ name: 'codex', arguments: { prompt: '[[stall]] cancel me' } }, undefined, {
        signal: abort.signal,
        onprogress: (p) => (threadId ||= /^thread (\S+):/.exec(String(p.message))?.[1] ?? ''),
      })
      .catch((e: unknown) => e);
    await until(() => threadId !== '', 'the turn started');
    abort.abort();
    await call;
    await until(() => running() === 0, 'no running turn');
    const thread = await gw.app.get(AppServerTransport).readThread('alice', threadId, true);
    expect(thread.turns?.at(-1)?.status).toBe('interrupted');
  });

  it('an approval arrives as an elicitation: accept runs the command, decline does not', async () => {
    const answers: Array<'accept' | 'decline'> = ['accept', 'decline'];
    const asked: string[] = [];
    const alice = await connect('alice-mcp-token', { elicitation: true });
    alice.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(String(request.params.message));
      return { action: answers.shift()! };
    });
    const run = (word: string) =>
      alice.callTool({
        name: 'codex',
        arguments: { prompt: `[[shell: echo ${word}]]`, 'approval-policy': 'untrusted' },
      });
    const accepted = await run('mcp-accepted');
    expect(asked[0]).toMatch(/echo mcp-accepted/);
    expect(text(accepted)).toMatch(/^Command output:\n(.*\n)*mcp-accepted\n$/);
    const declined = await run('mcp-declined');
    expect(asked[1]).toMatch(/echo mcp-declined/);
    expect(text(declined)).toMatch(/^The command was not run/);
  });

  it('without the elicitation capability the approval waits at /api/approvals', async () => {
    const alice = await connect('alice-mcp-token');
    const messages: string[] = [];
    alice.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      messages.push(String(n.params.data));
    });
    const call = alice.callTool({
      name: 'codex',
      arguments: { prompt: '[[shell: echo mcp-listed]]', 'approval-policy': 'untrusted' },
    });
    const auth = { Authorization: 'Bearer alice-mcp-token' };
    let approval: { id: string; command: string } | undefined;
    await until(async () => {
      const list = (await (await fetch(`${gw.url}/api/approvals`, { headers: auth })).json()) as {
        data: Array<{ id: string; command: string }>;
      };
      approval = list.data[0];
      return approval !== undefined;
    }, 'the approval is listed');
    expect(approval!.command).toContain('echo mcp-listed');
    const answered = await fetch(`${gw.url}/api/approvals/${approval!.id}`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ decision: 'accept' }),
    });
    expect(answered.status).toBe(200);
    expect(text(await call)).toMatch(/mcp-listed/);
    expect(messages.some((m) => m.startsWith('waiting for approval'))).toBe(true);
    expect(messages.some((m) => m.startsWith('ran `'))).toBe(true);
  });

  it('codex itself, as the MCP client of this gateway, gets the inner turn’s answer', async () => {
    const provider = gw.app.get(OfflineProviderHost).instance!;
    const home = makeDataDir('mcp-outer-codex');
    writeFileSync(
      join(home, 'config.toml'),
      [
        'model = "outer-model"',
        'model_provider = "offline"',
        '[model_providers.offline]',
        'name = "offline"',
        `base_url = "${provider.baseUrl}"`,
        'wire_api = "responses"',
        '[analytics]',
        'enabled = false',
        '[features]',
        'plugins = false',
        '[mcp_servers.gateway]',
        `url = "${gw.url}/mcp"`,
        'bearer_token_env_var = "GATEWAY_TOKEN"',
        'default_tools_approval_mode = "approve"',
      ].join('\n'),
    );
    const codex = resolveCodexBinary(undefined);
    const prompt = 'outer turn [[tool: mcp__gateway/codex {"prompt":"inner question from codex"}]]';
    const run = promisify(execFile)(codex.path, ['exec', '--json', '--skip-git-repo-check', prompt], {
      env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: home, GATEWAY_TOKEN: 'alice-mcp-token' },
      cwd: home,
      timeout: 60_000,
    });
    run.child.stdin?.end();
    const { stdout } = await run;
    const events = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; item?: Record<string, unknown> });
    const toolCall = events.find((e) => e.type === 'item.completed' && e.item?.type === 'mcp_tool_call')!.item!;
    expect(toolCall).toMatchObject({ server: 'gateway', tool: 'codex', status: 'completed' });
    const answer = events.filter((e) => e.item?.type === 'agent_message').at(-1)!.item!.text as string;
    expect(answer).toContain('Hello from the offline provider. You said: inner question from codex');
  });
});

describe('MCP server under the concurrency cap', () => {
  it('a call whose turn cannot start (the tenant runs its CODEX_MAX_CONCURRENCY turns) is an error result at once', async () => {
    const gw = await startGateway('mcp-cap', { CODEX_MAX_CONCURRENCY: '1' });
    const client = new Client({ name: 'cap-test', version: '1' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`)));
      let started = false;
      const abort = new AbortController();
      const first = client
        .callTool({ name: 'codex', arguments: { prompt: '[[stall]] holds the only slot' } }, undefined, {
          signal: abort.signal,
          onprogress: () => (started = true),
        })
        .catch((e: unknown) => e);
      await until(() => started, 'the first turn started');
      const second = (await client.callTool({ name: 'codex', arguments: { prompt: 'no room' } })) as CallToolResult;
      expect(second.isError).toBe(true);
      expect((second.content[0] as { text: string }).text).toMatch(/at most 1 turns may run at once/);
      abort.abort();
      await first;
    } finally {
      await client.close();
      await gw.close();
    }
  });
});
