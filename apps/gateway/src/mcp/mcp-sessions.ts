import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { tenancyConfig } from '../config/gateway.config';
import { CodexTools } from './codex-tools';

/** MCP sessions kept at most; beyond, the one idle longest is closed. */
const MAX_SESSIONS = 1000;

interface McpSession {
  tenant: string;
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
  /** Aborted when the HTTP request that carries a call goes away before its answer (by JSON-RPC id). */
  calls: Map<string | number, AbortController>;
}

/**
 * The MCP Streamable HTTP sessions (`Mcp-Session-Id`), each the official SDK's server and transport, bound to
 * the tenant whose credential opened it: another tenant's session id is unknown (404), as an unknown one is.
 * A session left idle longer than IDLE_TIMEOUT_SECONDS is closed; at most {@link MAX_SESSIONS} are kept.
 */
@Injectable()
export class McpSessions implements OnApplicationShutdown {
  private readonly logger = new Logger('McpSessions');
  private readonly sessions = new Map<string, McpSession>();

  constructor(
    private readonly tools: CodexTools,
    @Inject(tenancyConfig.KEY) private readonly tenancy: ConfigType<typeof tenancyConfig>,
  ) {}

  get count(): number {
    return this.sessions.size;
  }

  /** One HTTP request of the MCP endpoint (POST a message, GET the server's stream, DELETE the session). */
  async handle(tenant: string, req: Request, res: Response): Promise<void> {
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const session = this.sessions.get(id);
      if (!session || session.tenant !== tenant) {
        jsonRpcError(res, 404, -32001, 'Session not found');
        return;
      }
      session.lastSeen = Date.now();
      this.watchCalls(session, req, res);
      await session.transport.handleRequest(req, res, req.body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      jsonRpcError(res, 400, -32000, 'Bad Request: no valid Mcp-Session-Id (send initialize first)');
      return;
    }
    this.sweep();
    const session = this.open(tenant);
    this.watchCalls(session, req, res);
    await session.transport.handleRequest(req, res, req.body);
  }

  private open(tenant: string): McpSession {
    const server = new McpServer(
      { name: 'codex-gateway', version: '1' },
      {
        capabilities: { logging: {} },
        instructions:
          'Codex, the coding agent, as tools: `codex` starts a conversation, `codex-reply` continues it by threadId, ' +
          '`codex-interrupt` stops a running turn.',
      },
    );
    const session: McpSession = {
      tenant,
      lastSeen: Date.now(),
      calls: new Map(),
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          this.sessions.set(id, session);
        },
        onsessionclosed: (id) => {
          this.sessions.delete(id);
        },
      }),
    };
    session.transport.onclose = () => {
      if (session.transport.sessionId) this.sessions.delete(session.transport.sessionId);
      for (const call of session.calls.values()) call.abort();
    };
    this.tools.register(server, tenant, (requestId) => this.callSignal(session, requestId));
    void server.connect(session.transport);
    return session;
  }

  /** The signal that a call's HTTP request went away (its client is gone: the call's turn is interrupted). */
  private callSignal(session: McpSession, requestId: string | number): AbortSignal {
    let controller = session.calls.get(requestId);
    if (!controller) session.calls.set(requestId, (controller = new AbortController()));
    return controller.signal;
  }

  /** Calls in a POST whose connection closes before its answer is written are abandoned by their client. */
  private watchCalls(session: McpSession, req: Request, res: Response): void {
    if (req.method !== 'POST') return;
    const body = req.body as unknown;
    const messages = (Array.isArray(body) ? body : [body]) as Array<{ id?: unknown; method?: unknown }>;
    const ids = messages
      .filter((m) => m?.method === 'tools/call' && (typeof m.id === 'string' || typeof m.id === 'number'))
      .map((m) => m.id as string | number);
    if (ids.length === 0) return;
    for (const id of ids) this.callSignal(session, id);
    res.once('close', () => {
      for (const id of ids) {
        const controller = session.calls.get(id);
        session.calls.delete(id);
        if (!res.writableFinished) controller?.abort();
      }
    });
  }

  /** Closes sessions idle past the idle timeout, and the longest idle one when the table is full. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.sessions) {
      if (session.calls.size === 0 && now - session.lastSeen > this.tenancy.idleTimeoutMs) this.close(id, session);
    }
    if (this.sessions.size < MAX_SESSIONS) return;
    const [oldest] = [...this.sessions.entries()].sort((a, b) => a[1].lastSeen - b[1].lastSeen);
    if (oldest) this.close(...oldest);
  }

  private close(id: string, session: McpSession): void {
    this.sessions.delete(id);
    session.transport.close().catch((error: unknown) => this.logger.warn(`closing MCP session: ${String(error)}`));
  }

  async onApplicationShutdown(): Promise<void> {
    const all = [...this.sessions.entries()];
    this.sessions.clear();
    await Promise.all(all.map(([, session]) => session.transport.close().catch(() => undefined)));
  }
}

/** A JSON-RPC error answer with an HTTP status, as the MCP transport gives one. */
function jsonRpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}
