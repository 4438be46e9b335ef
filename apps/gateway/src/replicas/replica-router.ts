import { type IncomingHttpHeaders, request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { NextFunction, Request, Response } from 'express';
import { Authenticator } from '../common/auth/authenticator';
import { DrainService } from '../common/lifecycle/drain.service';
import { replicasConfig } from '../config/gateway.config';
import { ReplicaSet } from './replica-set';

/** The routes that act for a tenant (its threads, turns, responses, sessions): they are served by its owner. */
const TENANT_ROUTES = /^\/(api|v1|chat|threads|history|mcp)(\/|$)/;

/** Marks a request one replica forwarded to another (the owner serves it; it is never forwarded again). */
export const FORWARDED_HEADER = 'x-codex-forwarded-by';
/** Which replica answered (every answer says it). */
export const REPLICA_HEADER = 'X-Codex-Replica';
/** What a client is told to wait when a tenant's owner cannot be reached. */
export const RETRY_AFTER_SECONDS = 5;

/** Hop-by-hop headers are not forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
]);

/** A request this replica forwards, while it is in flight. */
interface Forwarded {
  /** A GET stays open for as long as its client likes (an MCP session's event stream): drain does not wait. */
  open: boolean;
  /** This replica is stopping: the client's answer ends (an error event between SSE events) and so does the owner's. */
  stop(): void;
}

/** Sends requests on to their owner and keeps track of them (a middleware instance gets no shutdown hooks). */
@Injectable()
export class ReplicaForwarder implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ReplicaRouter');
  private readonly inFlight = new Set<Forwarded>();
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });

  constructor(
    @Inject(replicasConfig.KEY) private readonly replicas: ConfigType<typeof replicasConfig>,
    drain: DrainService,
  ) {
    // A draining replica lets what it forwards finish, as it lets its own turns finish.
    drain.alsoWaitFor(() => [...this.inFlight].filter((f) => !f.open).length);
  }

  /** A stopping replica ends what it still forwards (its clients retry, on another replica or on it again). */
  beforeApplicationShutdown(): void {
    for (const forwarded of this.inFlight) forwarded.stop();
    this.inFlight.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  forward(req: Request, res: Response, owner: number): void {
    const target = new URL(req.originalUrl, this.replicas.peers[owner]);
    const parsed = req.body !== undefined && req.readableEnded;
    const body = parsed ? Buffer.from(JSON.stringify(req.body)) : null;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    headers[FORWARDED_HEADER] = String(this.replicas.index);
    if (body) {
      // The body was read (and decompressed) here: it goes on as plain JSON.
      delete headers['content-encoding'];
      headers['content-length'] = String(body.length);
    }
    const https = target.protocol === 'https:';
    const upstream = (https ? httpsRequest : httpRequest)(target, {
      method: req.method,
      headers,
      agent: https ? this.httpsAgent : this.httpAgent,
    });
    const failure = `replica ${owner}, which serves this tenant, is unreachable`;
    let events = false;
    let tail = '';
    /**
     * Ends the client's answer when the owner's is cut: 503 before it began, an `error` event (the shape
     * OpenAI's SDKs raise as an APIError) when an event stream stopped between events, else a cut.
     */
    const cut = (message: string) => {
      if (res.writableEnded || res.destroyed) return;
      if (!res.headersSent) {
        unavailable(req, res, message);
      } else if (events && (tail === '\n\n' || tail === '')) {
        const error = { message, type: 'server_error', param: null, code: 'replica_unavailable' };
        res.end(`event: error\ndata: ${JSON.stringify({ error, retryAfter: RETRY_AFTER_SECONDS })}\n\n`);
      } else {
        res.destroy();
      }
    };
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, forwardedHeaders(answer.headers));
      res.flushHeaders();
      events = String(answer.headers['content-type'] ?? '').startsWith('text/event-stream');
      if (events) {
        answer.on('data', (chunk: Buffer) => {
          tail = (tail + chunk.subarray(-2).toString('latin1')).slice(-2);
        });
      }
      answer.pipe(res, { end: false });
      answer.on('end', () => res.end());
      answer.on('close', () => {
        if (!answer.complete) cut(failure);
      });
    });
    upstream.on('error', (error) => {
      this.logger.warn(`replica ${owner} (${target.origin}) did not answer: ${error.message}`);
      cut(failure);
    });
    const forwarded: Forwarded = {
      open: req.method === 'GET',
      stop: () => {
        cut(`replica ${this.replicas.index}, which relayed this request, is stopping`);
        upstream.destroy();
      },
    };
    this.inFlight.add(forwarded);
    // The client went away: so does the forwarded request (the owner interrupts the turn, as for any client gone).
    res.on('close', () => {
      this.inFlight.delete(forwarded);
      if (!res.writableFinished) upstream.destroy();
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  }
}

/**
 * Every tenant has exactly one owner among the replicas ({@link ownerOf}); a request for a tenant that
 * reaches another replica is forwarded to the owner — bodies and streams (SSE, MCP) as they are — so its
 * threads, responses and sessions are always where the request is served. An owner that cannot be reached
 * answers 503 with `Retry-After`: a tenant is never served by a replica that does not hold its data.
 */
@Injectable()
export class ReplicaRouter implements NestMiddleware {
  constructor(
    private readonly replicas: ReplicaSet,
    private readonly authenticator: Authenticator,
    private readonly forwarder: ReplicaForwarder,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const { size, index } = this.replicas;
    if (!res.headersSent) res.setHeader(REPLICA_HEADER, String(index));
    if (size < 2 || !TENANT_ROUTES.test(pathOf(req))) return next();
    let tenant: string;
    try {
      tenant = await this.authenticator.tenantOfRequest(req);
    } catch {
      return next(); // the route's guard answers the caller without valid credentials
    }
    const place = this.replicas.placeOf(tenant);
    if (place.kind === 'here') return next();
    if (place.kind === 'moving') {
      unavailable(req, res, movingMessage(index, place.from));
      return;
    }
    if (req.headers[FORWARDED_HEADER] !== undefined) {
      // Replicas that disagree on the set (a rollout changing CODEX_PEERS): refuse rather than loop or serve.
      unavailable(req, res, `replica ${index} does not own this tenant and the request was already forwarded`);
      return;
    }
    this.forwarder.forward(req, res, place.owner);
  }
}

/** Why a tenant whose data is being moved to this replica is not served yet. */
export const movingMessage = (index: number, from: number) =>
  `this tenant moves from replica ${from} to replica ${index} (a replica count change); ` +
  'its data has not arrived yet';

/** The request's path (a middleware's `req.path` is relative to where it is mounted). */
const pathOf = (req: Request) => req.originalUrl.split('?')[0];

function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && (!HOP_BY_HOP.has(name) || name === 'content-length')) out[name] = value;
  }
  return out;
}

/** 503 with `Retry-After`, in the shape of the route's protocol (OpenAI's under `/v1`). */
function unavailable(req: Request, res: Response, message: string): void {
  res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
  if (pathOf(req).startsWith('/v1/')) {
    res.status(503).json({ error: { message, type: 'server_error', param: null, code: 'replica_unavailable' } });
    return;
  }
  res.status(503).json(replicaUnavailableBody(message));
}

/** The body of a 503 for a tenant whose owner cannot serve it (outside `/v1`; the agent stream's too). */
export const replicaUnavailableBody = (message: string) => ({
  statusCode: 503,
  message,
  error: 'Service Unavailable',
  code: 'REPLICA_UNAVAILABLE',
});
