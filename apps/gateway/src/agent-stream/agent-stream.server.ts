import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppServerTransport } from '@app/codex-transport';
import { Authenticator, BEARER_CHALLENGE, credentialsOf } from '../common/auth/authenticator';
import { describeFailure, logFailure } from '../common/errors/failure';
import { httpErrorBody } from '../common/filters/http-error.filter';
import { WorkspacePolicy } from '../common/workspace/workspace-policy';
import { ConfigurationError } from '../config/environment';
import { MetricsService } from '../metrics/metrics.service';
import { serverConfig } from '../config/gateway.config';
import { AgentStreamForwarder } from '../replicas/agent-stream-forwarder';
import { AgentSessionsStore } from './agent-sessions.store';
import { AgentStreamSession } from './agent-stream-session';
import { framingOf } from './frame-codec';

export const AGENT_STREAM_PATH = '/agent/stream';

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigurationError(
      `${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

/**
 * The HTTP/2 listener of the agent stream, started and stopped with the application: cleartext h2c on
 * `CODEX_H2_PORT`, or h2 over TLS with `CODEX_API_USE_TLS`. It authenticates with the same
 * {@link Authenticator} as the HTTP/1.1 API and serves `POST /agent/stream` (plus `GET /health/live`).
 */
@Injectable()
export class AgentStreamServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AgentStream');
  private server: Http2Server | Http2SecureServer | null = null;
  private readonly connections = new Set<Http2Session>();
  private readonly streams = new Set<AgentStreamSession>();

  constructor(
    @Inject(serverConfig.KEY) private readonly config: ConfigType<typeof serverConfig>,
    private readonly authenticator: Authenticator,
    private readonly transport: AppServerTransport,
    private readonly sessions: AgentSessionsStore,
    private readonly workspace: WorkspacePolicy,
    private readonly metrics: MetricsService,
    private readonly replicas: AgentStreamForwarder,
  ) {}

  /** The bound port (useful with `CODEX_H2_PORT=0`). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    return `${this.config.useTls ? 'https' : 'http'}://${this.config.host}:${this.port}`;
  }

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    if (c.useTls) {
      const key = readPem('CODEX_API_TLS_KEY_PATH', c.tlsKeyPath!);
      const cert = readPem('CODEX_API_TLS_CERT_PATH', c.tlsCertPath!);
      try {
        this.server = createSecureServer({ key, cert, allowHTTP1: false });
      } catch (error) {
        throw new ConfigurationError(
          `CODEX_API_TLS_KEY_PATH / CODEX_API_TLS_CERT_PATH: not a usable key and certificate (${(error as Error).message})`,
        );
      }
    } else {
      this.server = createServer();
    }
    const server = this.server;
    server.on('session', (session: Http2Session) => {
      this.connections.add(session);
      session.on('close', () => this.connections.delete(session));
      session.on('error', () => undefined);
    });
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      stream.on('error', () => undefined);
      void this.route(stream, headers);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(c.h2Port, c.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.logger.log(
      `agent stream (HTTP/2${c.useTls ? ' over TLS' : ', cleartext'}) on ${this.url}${AGENT_STREAM_PATH}`,
    );
  }

  /** Before codex stops: every stream (relayed ones too) gets a `terminate` frame, then the listener closes. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const stream of this.streams) stream.terminate('the gateway is stopping');
    this.replicas.terminateRelayed();
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.connections) session.close();
    const timer = setTimeout(() => {
      for (const session of this.connections) session.destroy();
    }, 2000);
    timer.unref();
    await closed;
    clearTimeout(timer);
    this.server = null;
  }

  private async route(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const path = String(headers[':path'] ?? '').split('?')[0];
    const method = String(headers[':method'] ?? '');
    if (path === '/health/live' && method === 'GET') {
      this.reply(stream, 200, { status: 'ok' });
      return;
    }
    if (path !== AGENT_STREAM_PATH) {
      this.reply(stream, 404, { statusCode: 404, message: `Cannot ${method} ${path}`, error: 'Not Found' });
      return;
    }
    if (method !== 'POST') {
      this.reply(
        stream,
        405,
        { statusCode: 405, message: `${AGENT_STREAM_PATH} takes POST`, error: 'Method Not Allowed' },
        { allow: 'POST' },
      );
      return;
    }
    const framing = framingOf(headers['content-type']);
    if (!framing) {
      this.reply(stream, 415, {
        statusCode: 415,
        message: 'Content-Type must be application/x-ndjson or application/length-prefixed-json',
        error: 'Unsupported Media Type',
      });
      return;
    }
    let tenant: string;
    try {
      tenant = await this.authenticator.tenantOf(credentialsOf(headers));
    } catch (error) {
      const failure = describeFailure(error);
      const requestId = randomUUID();
      logFailure(this.logger, failure, error, requestId);
      const challenge: Record<string, string> = failure.status === 401 ? { 'www-authenticate': BEARER_CHALLENGE } : {};
      this.reply(stream, failure.status, httpErrorBody(failure, requestId), challenge);
      return;
    }
    if (stream.destroyed) return;
    // A tenant another replica owns is served there (this replica relays the frames).
    if (this.replicas.forward(stream, headers, tenant, framing)) return;
    stream.respond({
      ':status': 200,
      'content-type': framing,
      'cache-control': 'no-cache',
      ...this.replicas.replicaHeader,
    });
    const session = new AgentStreamSession(stream, framing, tenant, {
      transport: this.transport,
      sessions: this.sessions,
      workspace: this.workspace,
      logger: this.logger,
      metrics: this.metrics,
      maxBufferedBytes: this.config.streamBufferBytes,
    });
    this.streams.add(session);
    this.metrics.openAgentStreams = this.streams.size;
    stream.on('close', () => {
      this.streams.delete(session);
      this.metrics.openAgentStreams = this.streams.size;
    });
  }

  private reply(stream: ServerHttp2Stream, status: number, body: object, headers: Record<string, string> = {}): void {
    if (stream.destroyed) return;
    stream.respond({
      ':status': status,
      'content-type': 'application/json; charset=utf-8',
      ...this.replicas.replicaHeader,
      ...headers,
    });
    stream.end(JSON.stringify(body));
    // The request body (if any) is not read.
    stream.once('finish', () => {
      if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
    });
  }
}
