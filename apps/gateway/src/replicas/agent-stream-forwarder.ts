import {
  type ClientHttp2Session,
  connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LENGTH_PREFIXED, type Framing } from '../agent-stream/agent-frames';
import { encodeFrame } from '../agent-stream/frame-codec';
import { replicasConfig } from '../config/gateway.config';
import {
  FORWARDED_HEADER,
  movingMessage,
  REPLICA_HEADER,
  replicaUnavailableBody,
  RETRY_AFTER_SECONDS,
} from './replica-router';
import { ReplicaSet } from './replica-set';

/** Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2), besides the pseudo-headers. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);

/**
 * The HTTP/2 side of the replica set: an agent stream opened on a replica that does not own its tenant is
 * relayed to the owner's agent-stream listener, frames both ways as they are. When the owner cannot be
 * reached the answer is 503 with `Retry-After`; when it goes away mid-stream the client gets an `error`
 * frame (`REPLICA_UNAVAILABLE`, `retryAfter`) and the end of the stream.
 */
@Injectable()
export class AgentStreamForwarder implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ReplicaRouter');
  /** One HTTP/2 connection per owner, opened when first needed. */
  private readonly connections = new Map<number, ClientHttp2Session>();
  /** The streams relayed now, each with what ends it when this replica stops. */
  private readonly relayed = new Set<() => void>();

  constructor(
    @Inject(replicasConfig.KEY) private readonly replicas: ConfigType<typeof replicasConfig>,
    private readonly set: ReplicaSet,
  ) {}

  /** This replica's answer header (`x-codex-replica`). */
  get replicaHeader(): Record<string, string> {
    return { [REPLICA_HEADER.toLowerCase()]: String(this.replicas.index) };
  }

  /**
   * A stopping replica ends the streams it relays with a `terminate` frame, as it ends its own (the
   * agent-stream listener calls this before it closes; the connections to the owners close here).
   */
  terminateRelayed(): void {
    for (const stop of this.relayed) stop();
    this.relayed.clear();
  }

  beforeApplicationShutdown(): void {
    this.terminateRelayed();
    for (const connection of this.connections.values()) connection.destroy();
    this.connections.clear();
  }

  /**
   * Relays the stream to the tenant's owner and returns true, or returns false when this replica serves it.
   */
  forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, tenant: string, framing: Framing): boolean {
    const { index } = this.replicas;
    const place = this.set.placeOf(tenant);
    if (place.kind === 'here') return false;
    if (place.kind === 'moving') {
      this.refuse(stream, movingMessage(index, place.from));
      return true;
    }
    const owner = place.owner;
    if (headers[FORWARDED_HEADER] !== undefined) {
      this.refuse(stream, `replica ${index} does not own this tenant and the stream was already forwarded`);
      return true;
    }
    let connection: ClientHttp2Session;
    try {
      connection = this.connectionTo(owner);
    } catch (error) {
      this.refuse(stream, this.unreachable(owner, error));
      return true;
    }
    const outgoing: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && !name.startsWith(':') && !NOT_FORWARDED.has(name)) outgoing[name] = value;
    }
    outgoing[':method'] = 'POST';
    outgoing[':path'] = headers[':path'];
    outgoing[FORWARDED_HEADER] = String(index);
    const upstream = connection.request(outgoing);
    const boundary = new FrameBoundary(framing);
    let answered = false;
    upstream.on('response', (answer) => {
      answered = true;
      if (stream.destroyed) return;
      const reply: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer)) {
        if (value !== undefined && (name === ':status' || !name.startsWith(':'))) reply[name] = value;
      }
      stream.respond(reply);
    });
    upstream.on('data', (chunk: Buffer) => {
      boundary.push(chunk);
      if (!stream.destroyed && !stream.write(chunk)) {
        // The client reads slower than the owner writes: the owner waits too (its own buffer bound applies).
        upstream.pause();
        stream.once('drain', () => upstream.resume());
      }
    });
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      if (stream.destroyed) return;
      // The end of the owner's stream is read as such only once it closes without an error code: when the
      // owner's connection dies its streams end too, then close with NGHTTP2_CANCEL.
      if (upstream.readableEnded && upstream.rstCode === constants.NGHTTP2_NO_ERROR) {
        if (!stream.writableEnded) stream.end();
      } else if (!stream.writableEnded) {
        const failure = this.unreachable(owner, upstream.rstCode ? `stream reset (${upstream.rstCode})` : 'closed');
        if (!answered) {
          this.refuse(stream, failure);
        } else if (boundary.atBoundary) {
          // Mid-stream: an in-band error the client's frame reader understands, then the end.
          const frame = { type: 'error', code: 'REPLICA_UNAVAILABLE', message: failure, retryable: true };
          stream.end(encodeFrame(framing, { ...frame, retryAfter: RETRY_AFTER_SECONDS }));
        } else {
          stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          return;
        }
      }
      // The owner closed its stream (it may not wait for the client to end its side): so does the relay.
      closeWhenFlushed(stream);
    });
    // Frames from the client go to the owner; the client gone ends the relayed stream (the owner then
    // handles it as any client gone).
    stream.pipe(upstream);
    const stop = () => {
      if (!stream.destroyed && !stream.writableEnded) {
        const reason = `replica ${index}, which relayed this stream, is stopping`;
        if (!answered) this.refuse(stream, reason);
        else if (boundary.atBoundary) stream.end(encodeFrame(framing, { type: 'terminate', reason }));
        else stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        closeWhenFlushed(stream);
      }
      if (!upstream.closed) upstream.close(constants.NGHTTP2_CANCEL);
    };
    this.relayed.add(stop);
    stream.on('close', () => {
      this.relayed.delete(stop);
      if (!upstream.closed) upstream.close(constants.NGHTTP2_CANCEL);
    });
    return true;
  }

  private connectionTo(owner: number): ClientHttp2Session {
    const open = this.connections.get(owner);
    if (open && !open.closed && !open.destroyed) return open;
    const connection = connect(this.replicas.h2Peers[owner]);
    connection.on('error', (error) => this.logger.warn(this.unreachable(owner, error)));
    connection.on('close', () => {
      if (this.connections.get(owner) === connection) this.connections.delete(owner);
    });
    connection.on('goaway', () => this.connections.delete(owner));
    connection.unref();
    this.connections.set(owner, connection);
    return connection;
  }

  private unreachable(owner: number, cause: unknown): string {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return `replica ${owner} (${this.replicas.h2Peers[owner]}), which serves this tenant, is unreachable: ${reason}`;
  }

  private refuse(stream: ServerHttp2Stream, message: string): void {
    if (stream.destroyed) return;
    if (!stream.headersSent) {
      stream.respond({
        ':status': 503,
        'content-type': 'application/json; charset=utf-8',
        'retry-after': String(RETRY_AFTER_SECONDS),
        ...this.replicaHeader,
      });
    }
    stream.end(JSON.stringify(replicaUnavailableBody(message)));
    closeWhenFlushed(stream);
  }
}

/** Closes a stream once what was written to it is out, whether or not the client ended its side. */
function closeWhenFlushed(stream: ServerHttp2Stream): void {
  const close = () => {
    if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
  };
  if (stream.writableFinished) close();
  else stream.once('finish', close);
}

/** Whether the bytes relayed so far end on a frame boundary (where an error frame can be added). */
class FrameBoundary {
  private lastByte = 0x0a;
  /** Length-prefixed: bytes of the prefix read so far, and of the frame body still to come. */
  private prefix: number[] = [];
  private remaining = 0;

  constructor(private readonly framing: Framing) {}

  get atBoundary(): boolean {
    return this.framing === LENGTH_PREFIXED ? this.prefix.length === 0 && this.remaining === 0 : this.lastByte === 0x0a;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.lastByte = chunk[chunk.length - 1];
    if (this.framing !== LENGTH_PREFIXED) return;
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        at += take;
        continue;
      }
      this.prefix.push(chunk[at++]);
      if (this.prefix.length === 4) {
        this.remaining = Buffer.from(this.prefix).readUInt32BE(0);
        this.prefix = [];
      }
    }
  }
}
