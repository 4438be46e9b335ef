import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Item, userPrompts } from './input';
import { ReplyStream } from './reply-stream';
import { parseScript } from './script';

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
      const { headers: extra, error } = scriptedError(script.status);
      res.writeHead(script.status, { 'content-type': 'application/json', ...extra });
      res.end(JSON.stringify({ error }));
      return;
    }
    if (script.tooLong) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: 'offline provider: the input exceeds the context window of this model',
            type: 'invalid_request_error',
            param: 'input',
            code: 'context_length_exceeded',
          },
        }),
      );
      return;
    }
    this.streaming++;
    res.once('close', () => this.streaming--);
    await new ReplyStream(res, body, script, input, prompts, this.options.deltaChars ?? 8).run();
  }
}

/** The error OpenAI sends with a status (its type; a rate limit says when to try again, also as Retry-After). */
function scriptedError(status: number): { headers: Record<string, string>; error: Record<string, unknown> } {
  const message = `offline provider: scripted HTTP ${status}`;
  if (status === 429) {
    return {
      headers: { 'retry-after': '7' },
      error: { message: `${message}. Please try again in 7s.`, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
    };
  }
  const type =
    status === 401
      ? 'authentication_error'
      : status === 403
        ? 'permission_error'
        : status < 500
          ? 'invalid_request_error'
          : 'server_error';
  return { headers: {}, error: { message, type, param: null, code: null } };
}
