import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Script, parseScript, splitText, wordsReply } from './script';

type Item = Record<string, unknown>;

export interface RecordedRequest {
  path: string;
  /** Request headers without `authorization`. */
  headers: Record<string, string | string[] | undefined>;
  /** Whether an Authorization header was sent (its value is never kept). */
  authorized: boolean;
  body: Record<string, unknown>;
}

export interface OfflineProviderOptions {
  host?: string;
  port?: number;
  /** How many requests to keep for inspection (oldest dropped first). */
  keepRequests?: number;
  /** Characters per text delta when the script does not set a count. */
  deltaChars?: number;
}

/** Prefixes of user messages that codex itself adds (context, aborted-turn notes, AGENTS.md, skills). */
const SYNTHETIC_USER = /^\s*(<[a-z_]+>|# AGENTS\.md)/i;

/** Text of a Responses-API message's content (strings or `input_text`/`output_text` parts). */
export function messageText(item: Item): string {
  const content = item.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => {
      const text = part && typeof part === 'object' ? (part as Item).text : undefined;
      return typeof text === 'string' ? text : '';
    })
    .join('');
}

/** The user prompts of a request, oldest first, without the messages codex adds itself. */
export function userPrompts(input: Item[]): string[] {
  return input
    .filter((i) => i.type === 'message' && i.role === 'user')
    .map(messageText)
    .filter((t) => !SYNTHETIC_USER.test(t));
}

/**
 * A scripted OpenAI Responses-API server for codex (`POST /v1/responses`, SSE). It speaks the event
 * sequence codex needs (always ending with `response.completed` unless told to fail) and answers by
 * the `[[...]]` script in the latest user prompt (see README.md beside this file).
 */
export class OfflineProvider {
  private server: Server | null = null;
  private readonly recorded: RecordedRequest[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();
  private streaming = 0;
  port = 0;

  constructor(private readonly options: OfflineProviderOptions = {}) {}

  /** Base URL to configure as the provider's `base_url` (codex appends `/responses`). */
  get baseUrl(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.port}/v1`;
  }

  /** Requests received so far (newest last). */
  get requests(): readonly RecordedRequest[] {
    return this.recorded;
  }

  /** Replies being streamed now: a client that goes away ends its stream (tests check codex let go of it). */
  get openStreams(): number {
    return this.streaming;
  }

  clearRequests(): void {
    this.recorded.length = 0;
  }

  async start(): Promise<string> {
    if (this.server) return this.baseUrl;
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && (path === '/health' || path === '/v1/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(path === '/health' ? { status: 'ok' } : { object: 'list', data: [] }));
      return;
    }
    if (req.method !== 'POST' || !/\/responses$/.test(path)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: 'not_found' } }));
      return;
    }
    let body: Record<string, unknown>;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'request body is not JSON', type: 'invalid_request_error' } }));
      return;
    }
    const { authorization, ...headers } = req.headers;
    this.recorded.push({ path, headers, authorized: Boolean(authorization), body });
    const keep = this.options.keepRequests ?? 200;
    if (this.recorded.length > keep) this.recorded.splice(0, this.recorded.length - keep);

    const input = Array.isArray(body.input) ? (body.input as Item[]) : [];
    const prompts = userPrompts(input);
    const script = parseScript(prompts.at(-1) ?? '');
    if (script.status !== null) {
      res.writeHead(script.status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { message: `offline provider: scripted HTTP ${script.status}`, type: 'server_error', code: null },
        }),
      );
      return;
    }
    this.streaming++;
    res.once('close', () => this.streaming--);
    await new Stream(res, body, script, input, prompts, this.options.deltaChars ?? 8).run();
  }
}

/** One streamed reply. */
class Stream {
  private readonly responseId = `resp_${randomUUID().replace(/-/g, '')}`;
  private closed = false;
  private outputIndex = 0;
  private readonly output: Item[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly body: Record<string, unknown>,
    private readonly script: Script,
    private readonly input: Item[],
    private readonly prompts: string[],
    private readonly deltaChars: number,
  ) {
    res.on('close', () => (this.closed = true));
  }

  async run(): Promise<void> {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    this.send('response.created', { response: this.responseObject('in_progress') });
    if (this.script.hang) return; // headers and one event, then silence until the client leaves
    const last = this.input.at(-1);
    if (last?.type === 'function_call_output') {
      await this.message(
        this.afterTool(typeof last.output === 'string' ? last.output : JSON.stringify(last.output ?? '')),
      );
      return this.complete();
    }
    if (this.script.reasoning) await this.reasoning(this.script.reasoning);
    if (this.script.shell) {
      this.functionCall(this.script.shell);
      return this.complete();
    }
    await this.message(this.replyText());
    if (this.script.cut) {
      this.res.end(); // no response.completed: codex treats the stream as broken
      return;
    }
    this.complete();
  }

  private replyText(): string {
    const s = this.script;
    if (s.reply !== null) return s.reply;
    if (s.words !== null) return wordsReply(s.words);
    if (s.memory) {
      const earlier = this.prompts.slice(0, -1);
      const list = earlier.map(
        (p, i) =>
          `${i + 1}) "${p
            .replace(/\[\[[^\]]*\]\]/g, '')
            .trim()
            .slice(0, 60)}"`,
      );
      return `I can see ${this.prompts.length} user messages in this conversation. Earlier: ${list.length ? list.join(', ') : 'none'}.`;
    }
    if (s.echoInstructions) {
      const instructions = this.input
        .filter((i) => i.type === 'message' && (i.role === 'developer' || i.role === 'system'))
        .map(messageText)
        .filter((t) => !/^\s*(<[a-z_]+>|You are a coding agent)/i.test(t));
      return `Instructions: ${instructions.length ? instructions.join(' | ') : 'none'}`;
    }
    return `Hello from the offline provider. You said: ${s.text || '(nothing)'}`;
  }

  private afterTool(output: string): string {
    if (/rejected by user|approval request failed|exec_command failed/i.test(output)) {
      return `The command was not run: ${output.trim()}`;
    }
    const marker = output.indexOf('Output:\n');
    return `Command output:\n${marker >= 0 ? output.slice(marker + 'Output:\n'.length) : output}`;
  }

  private async reasoning(text: string): Promise<void> {
    const id = `rs_${randomUUID().replace(/-/g, '')}`;
    const index = this.outputIndex++;
    this.send('response.output_item.added', { output_index: index, item: { type: 'reasoning', id, summary: [] } });
    this.send('response.reasoning_summary_part.added', {
      item_id: id,
      output_index: index,
      summary_index: 0,
      part: { type: 'summary_text', text: '' },
    });
    for (const delta of splitText(text, Math.ceil(text.length / this.deltaChars))) {
      await this.pause();
      this.send('response.reasoning_summary_text.delta', { item_id: id, output_index: index, summary_index: 0, delta });
    }
    const item = { type: 'reasoning', id, summary: [{ type: 'summary_text', text }] };
    this.output.push(item);
    this.send('response.output_item.done', { output_index: index, item });
  }

  private async message(text: string): Promise<void> {
    const id = `msg_${randomUUID().replace(/-/g, '')}`;
    const index = this.outputIndex++;
    this.send('response.output_item.added', {
      output_index: index,
      item: { type: 'message', id, role: 'assistant', status: 'in_progress', content: [] },
    });
    this.send('response.content_part.added', {
      item_id: id,
      output_index: index,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [] },
    });
    const pieces = splitText(text, this.script.deltas ?? Math.ceil(text.length / this.deltaChars));
    const sent =
      this.script.stall !== null
        ? pieces.slice(0, this.script.stall)
        : this.script.cut
          ? pieces.slice(0, Math.max(1, Math.floor(pieces.length / 2)))
          : pieces;
    for (const delta of sent) {
      await this.pause();
      if (this.closed) return;
      this.send('response.output_text.delta', { item_id: id, output_index: index, content_index: 0, delta });
    }
    if (this.script.cut) return;
    if (this.script.stall !== null) await this.untilClosed();
    if (this.closed) return;
    this.send('response.output_text.done', { item_id: id, output_index: index, content_index: 0, text });
    const item = {
      type: 'message',
      id,
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text, annotations: [] }],
    };
    this.output.push(item);
    this.send('response.output_item.done', { output_index: index, item });
  }

  private functionCall(cmd: string): void {
    const item = {
      type: 'function_call',
      id: `fc_${randomUUID().replace(/-/g, '')}`,
      call_id: `call_${randomUUID().replace(/-/g, '').slice(0, 12)}`,
      name: 'exec_command',
      arguments: JSON.stringify({ cmd, yield_time_ms: 10_000 }),
      status: 'completed',
    };
    const index = this.outputIndex++;
    this.output.push(item);
    this.send('response.output_item.added', { output_index: index, item: { ...item, arguments: '' } });
    this.send('response.output_item.done', { output_index: index, item });
  }

  private complete(): void {
    this.send('response.completed', { response: this.responseObject('completed') });
    this.res.end();
  }

  private responseObject(status: string): Record<string, unknown> {
    const inputChars = JSON.stringify(this.body.input ?? []).length;
    const outputText = this.output.map((i) => JSON.stringify(i)).join('');
    const inputTokens = Math.ceil(inputChars / 4);
    const outputTokens = status === 'completed' ? Math.max(1, Math.ceil(outputText.length / 16)) : 0;
    return {
      id: this.responseId,
      object: 'response',
      status,
      model: this.body.model ?? 'offline',
      output: status === 'completed' ? this.output : [],
      usage:
        status === 'completed'
          ? {
              input_tokens: inputTokens,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens: outputTokens,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: inputTokens + outputTokens,
            }
          : null,
    };
  }

  /** Resolves when the client goes away (the stream is never finished otherwise). */
  private untilClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.res.once('close', () => resolve()));
  }

  private pause(): Promise<void> {
    const ms = this.script.delayMs;
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private send(type: string, data: Record<string, unknown>): void {
    if (this.closed) return;
    this.res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  }
}
