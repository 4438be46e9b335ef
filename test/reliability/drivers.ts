import type { ClientHttp2Session } from 'node:http2';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { openAgentStream } from '../support/h2';
import { postSse, type SseEvent } from '../support/sse';

export type Protocol = 'rest' | 'openai_chat' | 'openai_responses' | 'chat' | 'agent_stream' | 'mcp';
export const PROTOCOLS: Protocol[] = ['rest', 'openai_chat', 'openai_responses', 'chat', 'agent_stream', 'mcp'];
/** Protocols whose requests can ask for an approval policy (the others run with the gateway's `never`). */
export const APPROVAL_PROTOCOLS: Protocol[] = ['rest', 'agent_stream', 'mcp'];

export interface Outcome {
  /** HTTP status (200 for streams that started). */
  status: number;
  /** How the stream ended: the terminal event's name (and status), or `aborted` / `no-terminal`. */
  terminal: string;
  /** Whether the end says the turn failed (an error event, a failed status). */
  failed: boolean;
  events: string[];
  aborted: boolean;
}

export interface RunOptions {
  approvalPolicy?: 'untrusted';
  /** Disconnect once the events so far satisfy this. */
  until?: (events: string[]) => boolean;
  /** Disconnect when this settles. */
  abortWhen?: Promise<unknown>;
  /** Called with each event name as it arrives. */
  onEvent?: (name: string, data: any) => void;
}

export interface Target {
  url: string;
  h2: ClientHttp2Session;
  headers: Record<string, string>;
}

function sseOutcome(
  res: { status: number; events: SseEvent[]; aborted: boolean },
  terminalOf: (events: SseEvent[]) => { terminal: string; failed: boolean } | null,
): Outcome {
  const names = res.events.map((e) => (e.data === '[DONE]' ? '[DONE]' : e.event));
  if (res.status !== 200)
    return { status: res.status, terminal: `http-${res.status}`, failed: true, events: names, aborted: res.aborted };
  const end = terminalOf(res.events);
  return {
    status: 200,
    terminal: end?.terminal ?? (res.aborted ? 'aborted' : 'no-terminal'),
    failed: end?.failed ?? false,
    events: names,
    aborted: res.aborted,
  };
}

/** A new thread's id, or how starting it failed (an outcome with the answer's status, judged like a turn's). */
async function threadFor(target: Target): Promise<string | Outcome> {
  const res = await fetch(`${target.url}/api/thread/start`, {
    method: 'POST',
    headers: { ...target.headers, 'content-type': 'application/json' },
    body: '{}',
  });
  const body = await res.text();
  if (res.status !== 200)
    return {
      status: res.status,
      terminal: `thread-start-http-${res.status}: ${body.slice(0, 200)}`,
      failed: true,
      events: [],
      aborted: false,
    };
  return (JSON.parse(body) as { thread: { id: string } }).thread.id;
}

/** Runs one turn with `prompt` on a protocol, streamed, and says how it ended. */
export async function runTurn(
  protocol: Protocol,
  target: Target,
  prompt: string,
  options: RunOptions = {},
): Promise<Outcome> {
  const until = options.until;
  const sseOptions = {
    headers: target.headers,
    abortWhen: options.abortWhen,
    until: (events: SseEvent[]) => {
      const last = events.at(-1);
      if (last) options.onEvent?.(last.event, last.json);
      return until ? until(events.map((e) => e.event)) : false;
    },
  };
  switch (protocol) {
    case 'rest': {
      const threadId = await threadFor(target);
      if (typeof threadId !== 'string') return threadId;
      const body = {
        threadId,
        input: [{ type: 'text', text: prompt }],
        stream: true,
        ...(options.approvalPolicy ? { approvalPolicy: options.approvalPolicy } : {}),
      };
      return sseOutcome(await postSse(target.url, '/api/turn/start', body, sseOptions), (events) => {
        const last = events.at(-1);
        if (last?.event === 'turn.completed')
          return { terminal: `turn.completed:${last.json.status}`, failed: last.json.status === 'failed' };
        if (last?.event === 'error') return { terminal: 'error', failed: true };
        return null;
      });
    }
    case 'chat': {
      const res = await postSse(target.url, '/chat', { messages: [{ content: prompt }] }, sseOptions);
      return sseOutcome(res, (events) => {
        if (events.at(-1)?.data !== '[DONE]') return null;
        const before = events.at(-2);
        return {
          terminal: `[DONE] after ${before?.event}${before?.json?.status ? `:${before.json.status}` : ''}`,
          failed: before?.event === 'error' || before?.json?.status === 'failed',
        };
      });
    }
    case 'openai_chat': {
      const res = await postSse(
        target.url,
        '/v1/chat/completions',
        { model: 'x', messages: [{ role: 'user', content: prompt }], stream: true },
        sseOptions,
      );
      return sseOutcome(res, (events) => {
        if (events.at(-1)?.data !== '[DONE]') return null;
        const before = events.at(-2)?.json;
        return { terminal: before?.error ? '[DONE] after error' : '[DONE]', failed: Boolean(before?.error) };
      });
    }
    case 'openai_responses': {
      const res = await postSse(target.url, '/v1/responses', { model: 'x', input: prompt, stream: true }, sseOptions);
      return sseOutcome(res, (events) => {
        const last = events.at(-1);
        if (!last || !/^response\.(completed|failed|incomplete|cancelled)$/.test(last.event)) return null;
        return { terminal: last.event, failed: last.event === 'response.failed' };
      });
    }
    case 'mcp':
      return mcpTurn(target, prompt, options);
    case 'agent_stream': {
      const s = openAgentStream(target.h2, { headers: target.headers });
      s.send({
        type: 'user_message',
        content: prompt,
        ...(options.approvalPolicy ? { configOverrides: { approvalPolicy: 'untrusted' } } : {}),
      });
      let aborted = false;
      const abort = () => {
        if (aborted) return;
        aborted = true;
        s.stream.close();
      };
      void options.abortWhen?.then(abort, abort);
      const names = () => s.frames.map((f) => (f.type === 'item' ? `item.${f.phase}` : f.type));
      const done = s
        .next((f) => {
          options.onEvent?.(f.type, f);
          if (until?.(names())) abort();
          return (
            f.type === 'turn_completed' || f.type === 'terminate' || (f.type === 'error' && f.code !== 'codex_error')
          );
        }, 60_000)
        .catch(() => null);
      const end = await done;
      if (!aborted) s.end();
      await s.closed;
      const status = Number(s.headers?.[':status'] ?? 0);
      if (status && status !== 200)
        return { status, terminal: `http-${status}`, failed: true, events: names(), aborted };
      if (!end)
        return { status: 200, terminal: aborted ? 'aborted' : 'no-terminal', failed: false, events: names(), aborted };
      return {
        status: 200,
        terminal:
          end.type === 'turn_completed'
            ? `turn_completed:${end.status}`
            : end.type === 'terminate'
              ? 'terminate'
              : `error:${end.code}`,
        failed: end.type === 'error' || end.status === 'failed',
        events: names(),
        aborted,
      };
    }
  }
}

/**
 * A turn as an MCP client runs one: a session of its own, one `codex` tool call. Its progress notifications
 * are its events (the first says the turn started, the others carry text); leaving closes the client's
 * connections, as a client that goes away does.
 */
async function mcpTurn(target: Target, prompt: string, options: RunOptions): Promise<Outcome> {
  const transport = new StreamableHTTPClientTransport(new URL(`${target.url}/mcp`), {
    requestInit: { headers: target.headers },
  });
  const client = new Client({ name: 'reliability', version: '1' });
  const names: string[] = [];
  let aborted = false;
  try {
    await client.connect(transport);
  } catch (error) {
    const status = error instanceof StreamableHTTPError && error.code ? error.code : 0;
    return { status, terminal: `http-${status}`, failed: true, events: [], aborted: false };
  }
  const abort = () => {
    if (aborted) return;
    aborted = true;
    void transport.close();
  };
  void options.abortWhen?.then(abort, abort);
  try {
    const args = { prompt, ...(options.approvalPolicy ? { 'approval-policy': options.approvalPolicy } : {}) };
    const result = await client.callTool({ name: 'codex', arguments: args }, undefined, {
      timeout: 120_000,
      resetTimeoutOnProgress: true,
      onprogress: (progress) => {
        const name = names.length === 0 ? 'turn.started' : 'item.delta';
        names.push(name);
        options.onEvent?.(name, progress);
        if (options.until?.(names)) abort();
      },
    });
    const status = (result.structuredContent as { status?: string } | undefined)?.status ?? 'error';
    return { status: 200, terminal: `result:${status}`, failed: result.isError === true, events: names, aborted };
  } catch (error) {
    return {
      status: 200,
      terminal: aborted ? 'aborted' : `error: ${(error as Error).message.slice(0, 200)}`,
      failed: true,
      events: names,
      aborted,
    };
  } finally {
    if (!aborted) await transport.terminateSession().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}
