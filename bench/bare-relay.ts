/**
 * The floor for any HTTP service in front of codex: a bare relay, a Node process that runs each tenant's
 * app-server as the limit does (one per tenant, JSON-RPC over stdio) and streams a turn's deltas as SSE on
 * plain `node:http` — no framework, auth, validation, logging or metrics. Between the limit and the gateway
 * in the tables, it shows what the extra process hop (codex → relay → client, instead of codex → client)
 * costs by itself on this machine, and so how much of the gateway's ratio is its own.
 *
 * Run as a script (by {@link startBareRelay}), it serves `POST /thread {tenant}` → `{threadId}` and
 * `POST /turn {tenant, threadId, text}` → `data: {"delta": …}` events, then `data: [DONE]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DirectAppServers } from './direct-client';
import { ROOT, serverSample } from './gateway-process';
import { pidsWithEnv } from './stats';
import type { Entry } from './measure';
import { postJson, streamPost, type Surface } from './surfaces';

export interface BareRelay {
  child: ChildProcess;
  url: string;
  dir: string;
}

/** Starts the relay on `node` (the gateway's Node, for a like-for-like hop), its app-servers under `dir`. */
export async function startBareRelay(
  node: string,
  dir: string,
  providerUrl: string,
  shellHome: string,
): Promise<BareRelay> {
  const child = spawn(
    node,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', __filename, dir, providerUrl, shellHome],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const match = /relay on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match) resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bare relay exited (${code}): ${text.slice(-2000)}`)));
  });
  return { child, url, dir };
}

export async function stopBareRelay(relay: BareRelay): Promise<void> {
  if (relay.child.exitCode !== null || relay.child.signalCode !== null) return;
  const exited = new Promise((resolve) => relay.child.once('exit', resolve));
  relay.child.kill('SIGTERM');
  await exited;
}

/** The relay as a surface of the tables (a reference, like the in-process transport: no target is its). */
export function bareRelayEntry(relay: BareRelay): Entry {
  const surface: Surface = {
    name: 'bare HTTP relay (floor for a service in front of codex)',
    key: 'relay',
    tenants: 'relay',
    note: 'node:http + SSE over the limit’s JSON-RPC, thread made beforehand',
    prepare: async (tenant) => ({ tenant, threadId: (await postJson(relay.url, '/thread', { tenant }, {})).threadId }),
    turn: (w, prompt, onChunk) => {
      const { tenant, threadId } = w as { tenant: string; threadId: string };
      return streamPost(relay.url, '/turn', { tenant, threadId, text: prompt }, {}, /"delta"/, { onChunk });
    },
  };
  return {
    surface,
    sample: () => serverSample(relay.child.pid!, pidsWithEnv(relay.dir)),
  };
}

function serve(dir: string, providerBaseUrl: string, shellHome: string): void {
  const servers = new DirectAppServers({ dir, shellHome, providerBaseUrl });
  const body = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    return JSON.parse(text) as { tenant: string; threadId: string; text: string };
  };
  const server = createServer((req, res) => {
    body(req)
      .then(async ({ tenant, threadId, text }) => {
        const codex = await servers.of(tenant);
        if (req.url === '/thread') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ threadId: await codex.startThread(servers.workspace) }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.socket?.setNoDelay(true);
        await codex.runTurn(threadId, text, (delta) => res.write(`data: ${JSON.stringify({ delta })}\n\n`));
        res.end('data: [DONE]\n\n');
      })
      .catch((error: Error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(error.message));
      });
  });
  server.listen(0, '127.0.0.1', () =>
    console.log(`relay on http://127.0.0.1:${(server.address() as AddressInfo).port}`),
  );
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void servers.stop().then(() => process.exit(0));
  });
}

if (require.main === module) {
  const [dir, providerUrl, shellHome] = process.argv.slice(2);
  serve(dir, providerUrl, shellHome ?? join(dir, 'home'));
}
