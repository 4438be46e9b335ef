/**
 * Every way the benchmark runs a turn, side by side so that their timings are taken the same way: the
 * direct app-server limit, the in-process transport, and each of the gateway's surfaces. Slightly over
 * 300 lines because each surface is a few lines of setup and a few of timing, and they read best together.
 */
import { Agent, request } from 'node:http';
import { type ClientHttp2Session, connect } from 'node:http2';
import { lastValueFrom, tap } from 'rxjs';
import type { AppServerTransport } from '@app/codex-transport';
import { encodeFrame, FrameDecoder } from '../apps/gateway/src/agent-stream/frame-codec';
import { NDJSON } from '../apps/gateway/src/agent-stream/agent-frames';
import type { DirectAppServer } from './direct-client';

export interface TurnTiming {
  ttftMs: number;
  latencyMs: number;
  /** The first match of the caller's `capture` pattern in the answer, if asked. */
  captured?: string;
}

/** One way of running a turn; `prepare` sets up a worker (its thread or stream) outside the timing. */
export interface Surface {
  name: string;
  /** Names the surface in the log (its tenants are named by `tenants`). */
  key: string;
  /**
   * Names the tenants the surface runs on (`<tenants>-<n>`). The surfaces of one server share them, as one
   * user's clients of several protocols share that user's codex process: the gateway's surfaces run on
   * `gw-<n>`, the two limits on `direct-<n>`; each surface has threads of its own in them. codex's cost of a
   * turn does not grow with the threads its process holds, and a new process is the largest cost of a new
   * tenant (and an idle one still costs CPU), so sharing keeps the run short and the machine quiet.
   */
  tenants: string;
  /** What one turn includes besides the turn itself (shown in the report). */
  note: string;
  /**
   * Every turn starts a new conversation: held to a turn on an existing thread of the limit (the gateway
   * keeps threads started ahead); the limit that starts a thread per turn shows what that saves.
   */
  stateless?: boolean;
  prepare(tenant: string): unknown;
  /** Runs one turn; `onChunk` sees every piece of the answer as it is read (the limit's: each delta's text). */
  turn(worker: unknown, prompt: string, onChunk?: (text: string) => void): Promise<TurnTiming>;
  release?(worker: unknown): void | Promise<void>;
}

let agent = new Agent({ keepAlive: true, maxSockets: Infinity });

/** A fresh connection pool, so no run reuses a socket the server may be closing after an idle spell. */
export function resetConnections(): void {
  agent.destroy();
  agent = new Agent({ keepAlive: true, maxSockets: Infinity });
}

/**
 * POSTs JSON and reads the streamed answer; TTFT is when `firstToken` first matches the text so far.
 * `capture`: the first match of its group in the answer is returned; `onChunk` sees every piece read.
 */
export function streamPost(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  firstToken: RegExp,
  { capture, onChunk }: { capture?: RegExp; onChunk?: (text: string) => void } = {},
): Promise<TurnTiming> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ttft: number | null = null;
    let seen = '';
    let captured: string | undefined;
    const payload = JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          accept: 'text/event-stream',
          ...headers,
        },
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          onChunk?.(chunk);
          if (capture && captured === undefined) captured = capture.exec(chunk)?.[1];
          if (ttft !== null) return;
          seen += chunk;
          if (firstToken.test(seen)) ttft = performance.now();
          else if (seen.length > 4096) seen = seen.slice(-2048);
        });
        res.on('end', () => {
          const end = performance.now();
          if (res.statusCode !== 200) reject(new Error(`${path} answered ${res.statusCode}`));
          else resolve({ ttftMs: (ttft ?? end) - started, latencyMs: end - started, captured });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export async function postJson(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<any> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          res.statusCode === 200 || res.statusCode === 201
            ? resolve(JSON.parse(text))
            : reject(new Error(`${path} ${res.statusCode}: ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The app-server of a tenant of the limit (started on first use). */
export type DirectServers = (tenant: string) => Promise<DirectAppServer>;

export function directSurface(servers: DirectServers, cwd: string): Surface {
  return {
    name: 'direct app-server (limit)',
    key: 'direct',
    tenants: 'direct',
    note: 'JSON-RPC over stdio, thread made beforehand',
    prepare: async (tenant) => {
      const server = await servers(tenant);
      return { server, threadId: await server.startThread(cwd) };
    },
    turn: async (w, prompt, onChunk) => {
      const { server, threadId } = w as { server: DirectAppServer; threadId: string };
      return server.runTurn(threadId, prompt, onChunk);
    },
  };
}

/** The limit for a stateless request: a new thread for every turn, straight over stdio. */
export function directNewThreadSurface(servers: DirectServers, cwd: string): Surface {
  return {
    name: 'direct app-server, new thread per turn (limit for stateless requests)',
    key: 'direct-new',
    tenants: 'direct',
    note: 'thread/start + turn/start over stdio',
    stateless: true,
    prepare: (tenant) => servers(tenant),
    turn: async (w, prompt) => {
      const server = w as DirectAppServer;
      const started = performance.now();
      const threadId = await server.startThread(cwd);
      const shift = performance.now() - started;
      const t = await server.runTurn(threadId, prompt);
      return { ttftMs: t.ttftMs + shift, latencyMs: t.latencyMs + shift };
    },
  };
}

export function transportSurface(transport: AppServerTransport): Surface {
  return {
    name: 'transport runTurn (in-process)',
    key: 'transport',
    tenants: 'transport',
    note: 'the gateway library without HTTP',
    prepare: async (tenant) => ({ tenant, threadId: (await transport.startThread(tenant)).thread.id }),
    turn: async (w, prompt) => {
      const { tenant, threadId } = w as { tenant: string; threadId: string };
      const started = performance.now();
      let ttft: number | null = null;
      await lastValueFrom(
        transport.runTurn(tenant, { threadId, input: [{ type: 'text', text: prompt }] }).pipe(
          tap((e) => {
            if (ttft === null && e.type === 'item.delta' && e.kind === 'text') ttft = performance.now();
          }),
        ),
      );
      const end = performance.now();
      return { ttftMs: (ttft ?? end) - started, latencyMs: end - started };
    },
  };
}

export function restSurface(base: string): Surface {
  return {
    name: 'REST /api/turn/start (SSE)',
    key: 'rest',
    tenants: 'gw',
    note: 'thread made beforehand',
    prepare: async (tenant) => ({
      tenant,
      threadId: (await postJson(base, '/api/thread/start', {}, { 'x-user-id': tenant })).thread.id,
    }),
    turn: (w, prompt, onChunk) => {
      const { tenant, threadId } = w as { tenant: string; threadId: string };
      return streamPost(
        base,
        '/api/turn/start',
        { threadId, input: [{ type: 'text', text: prompt }], stream: true },
        { 'x-user-id': tenant },
        /event: item\.delta/,
        { onChunk },
      );
    },
  };
}

/** A surface where every turn is a request that starts a new conversation (no worker state but its tenant). */
function statelessSurface(
  base: string,
  surface: {
    name: string;
    key: string;
    note: string;
    path: string;
    body: (prompt: string) => unknown;
    firstToken: RegExp;
  },
): Surface {
  return {
    name: surface.name,
    key: surface.key,
    tenants: 'gw',
    note: surface.note,
    stateless: true,
    prepare: (tenant) => ({ tenant }),
    turn: (w, prompt, onChunk) =>
      streamPost(
        base,
        surface.path,
        surface.body(prompt),
        { 'x-user-id': (w as { tenant: string }).tenant },
        surface.firstToken,
        { onChunk },
      ),
  };
}

export function chatCompletionsSurface(base: string, label = 'OpenAI /v1/chat/completions (stream)'): Surface {
  return statelessSurface(base, {
    name: label,
    key: 'completions',
    note: 'stateless: a new thread per request',
    path: '/v1/chat/completions',
    body: (prompt) => ({ model: 'gpt-5-codex', messages: [{ role: 'user', content: prompt }], stream: true }),
    firstToken: /"content":"[^"]/,
  });
}

export function responsesSurface(base: string): Surface {
  return {
    name: 'OpenAI /v1/responses (stream)',
    key: 'responses',
    tenants: 'gw',
    note: 'chained with previous_response_id',
    prepare: (tenant) => ({ tenant, previous: null as string | null }),
    turn: async (w, prompt, onChunk) => {
      const worker = w as { tenant: string; previous: string | null };
      const timing = await streamPost(
        base,
        '/v1/responses',
        {
          model: 'gpt-5-codex',
          input: prompt,
          stream: true,
          ...(worker.previous ? { previous_response_id: worker.previous } : {}),
        },
        { 'x-user-id': worker.tenant },
        /response\.output_text\.delta/,
        { capture: /"id":"(resp_[0-9a-f]+)"/, onChunk },
      );
      worker.previous = timing.captured ?? null;
      return timing;
    },
  };
}

/** Responses that keep nothing (`store: false`, no previous response): a new conversation per request. */
export function statelessResponsesSurface(base: string): Surface {
  return statelessSurface(base, {
    name: 'OpenAI /v1/responses (stream, store: false)',
    key: 'responses-new',
    note: 'stateless: a new conversation per request',
    path: '/v1/responses',
    body: (input) => ({ model: 'gpt-5-codex', input, stream: true, store: false }),
    firstToken: /response\.output_text\.delta/,
  });
}

/** `/chat` without a thread id: a new conversation per request. */
export function newChatSurface(base: string): Surface {
  return statelessSurface(base, {
    name: 'chat /chat (SSE, new conversation)',
    key: 'chat-new',
    note: 'stateless: a new conversation per request',
    path: '/chat',
    body: (content) => ({ messages: [{ content }] }),
    firstToken: /event: item\.delta/,
  });
}

export function chatSurface(base: string): Surface {
  return {
    name: 'chat /chat (SSE)',
    key: 'chat',
    tenants: 'gw',
    note: 'continues a thread made beforehand',
    prepare: async (tenant) => ({
      tenant,
      threadId: (await postJson(base, '/api/thread/start', {}, { 'x-user-id': tenant })).thread.id,
    }),
    turn: (w, prompt, onChunk) => {
      const { tenant, threadId } = w as { tenant: string; threadId: string };
      return streamPost(
        base,
        '/chat',
        { thread_id: threadId, messages: [{ content: prompt }] },
        { 'x-user-id': tenant },
        /event: item\.delta/,
        { onChunk },
      );
    },
  };
}

/** The HTTP/2 agent stream: one session (stream) per worker on one shared connection. */
export function agentStreamSurface(h2Url: string): Surface & { close(): void } {
  let session: ClientHttp2Session | null = null;
  return {
    name: 'HTTP/2 /agent/stream',
    key: 'h2',
    tenants: 'gw',
    note: 'one long-lived stream per worker',
    prepare: (tenant) => {
      session ??= connect(h2Url);
      const stream = session.request({
        ':method': 'POST',
        ':path': '/agent/stream',
        'content-type': NDJSON,
        'x-user-id': tenant,
      });
      const decoder = new FrameDecoder(NDJSON, 64 * 1024 * 1024);
      const worker = {
        stream,
        waiter: null as null | ((frame: Record<string, any>) => void),
        onChunk: undefined as undefined | ((text: string) => void),
      };
      stream.on('data', (chunk: Buffer) => {
        worker.onChunk?.(chunk.toString('utf8'));
        for (const d of decoder.push(chunk)) if (d.ok && worker.waiter) worker.waiter(d.value as Record<string, any>);
      });
      return worker;
    },
    turn: (w, prompt, onChunk) => {
      const worker = w as {
        stream: import('node:http2').ClientHttp2Stream;
        waiter: null | ((frame: Record<string, any>) => void);
        onChunk?: (text: string) => void;
      };
      worker.onChunk = onChunk;
      return new Promise((resolve, reject) => {
        const started = performance.now();
        let ttft: number | null = null;
        worker.waiter = (frame) => {
          if (ttft === null && frame.type === 'item' && frame.phase === 'delta' && frame.responseItem?.kind === 'text')
            ttft = performance.now();
          if (frame.type === 'turn_completed') {
            const end = performance.now();
            worker.waiter = null;
            resolve({ ttftMs: (ttft ?? end) - started, latencyMs: end - started });
          }
          if (frame.type === 'error') reject(new Error(frame.message));
        };
        worker.stream.write(encodeFrame(NDJSON, { type: 'user_message', content: prompt }));
      });
    },
    release: (w) => {
      (w as { stream: import('node:http2').ClientHttp2Stream }).stream.close();
    },
    close: () => session?.destroy(),
  };
}
