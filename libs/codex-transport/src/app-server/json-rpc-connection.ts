import type { Readable, Writable } from 'node:stream';
import { CodexErrorCode, CodexTransportError } from '../errors/codex-transport.error';
import { LineFramer } from './line-framer';

export type JsonRpcId = number | string;

export interface JsonRpcErrorBody {
  code: number;
  message: string;
  data?: unknown;
}

/** A message written to codex, as handed to the `onOutgoing` tap. */
export type OutgoingMessage =
  | { kind: 'request'; id: JsonRpcId; method: string; params: unknown }
  | { kind: 'notification'; method: string; params?: unknown }
  | { kind: 'response'; id: JsonRpcId; result: unknown }
  | { kind: 'error'; id: JsonRpcId; error: JsonRpcErrorBody };

export interface JsonRpcConnectionOptions {
  /** Called for every notification (a message with `method` and no `id`). */
  onNotification: (method: string, params: Record<string, unknown>) => void;
  /**
   * Called for every request codex sends us (a message with `id` and `method`). The handler owns the
   * answer: it must eventually call `respond` or `respondError`, or codex waits forever.
   */
  onRequest: (id: JsonRpcId, method: string, params: Record<string, unknown>) => void;
  /** A line that is not JSON-RPC (log noise, partial output). */
  onNoise?: (line: string) => void;
  /** Every message written, before it is written (tests validate them against codex's schema). */
  onOutgoing?: (message: OutgoingMessage) => void;
  /** Every response received for one of our requests, with the method it answered. */
  onIncomingResult?: (method: string, result: unknown) => void;
  maxLineBytes?: number;
  /** Default time a request may wait for its response before it is rejected. */
  requestTimeoutMs?: number;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | null;
}

/** Errors whose codex message means "no such thread" / "no such turn" get specific codes. */
export function rpcErrorToTransportError(method: string, error: JsonRpcErrorBody): CodexTransportError {
  const message = String(error.message ?? '');
  if (/thread not (found|loaded)|no rollout found|invalid (thread|session) id/i.test(message)) {
    return new CodexTransportError(CodexErrorCode.THREAD_NOT_FOUND, 'thread not found', { method, rpc: error });
  }
  if (/expected active turn id|no active turn/i.test(message)) {
    return new CodexTransportError(CodexErrorCode.TURN_NOT_FOUND, 'turn not found or not running', {
      method,
      rpc: error,
    });
  }
  if (/^turn not found/i.test(message)) {
    return new CodexTransportError(CodexErrorCode.TURN_NOT_FOUND, 'turn not found in this thread', {
      method,
      rpc: error,
    });
  }
  if (/^invalid cursor/i.test(message)) {
    return new CodexTransportError(
      CodexErrorCode.INVALID_REQUEST,
      'invalid cursor: use the nextCursor of a previous page',
      { method, rpc: error },
    );
  }
  if (/already has an active writer/i.test(message)) {
    return new CodexTransportError(CodexErrorCode.THREAD_BUSY, 'thread is held by another codex process', {
      method,
      rpc: error,
    });
  }
  return new CodexTransportError(CodexErrorCode.RPC_ERROR, `codex rejected ${method}: ${message}`, {
    method,
    rpc: error,
  });
}

/**
 * Newline-delimited JSON-RPC over a pair of streams (codex app-server's stdio). One map of pending
 * requests, rejected as a whole by `dispose`; requests from codex are routed to `onRequest`, never
 * mistaken for responses; writes respect backpressure.
 */
export class JsonRpcConnection {
  private nextId = 1;
  private readonly pending = new Map<JsonRpcId, Pending>();
  private readonly framer: LineFramer;
  private disposedWith: CodexTransportError | null = null;
  private writeQueue: string[] = [];
  private waitingForDrain = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly options: JsonRpcConnectionOptions,
  ) {
    this.framer = new LineFramer(
      (line) => this.handleLine(line),
      (dropped) => this.options.onNoise?.(`<dropped over-long line of ${dropped} bytes>`),
      options.maxLineBytes,
    );
    input.on('data', (chunk: Buffer) => this.framer.push(chunk));
    input.on('end', () => this.framer.end());
    output.on('drain', () => this.flushQueue());
    // A write to a dead process raises EPIPE on the stream; the exit handler reports the real cause.
    output.on('error', () => undefined);
  }

  get isDisposed(): boolean {
    return this.disposedWith !== null;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  request<T = unknown>(method: string, params: unknown = {}, timeoutMs = this.options.requestTimeoutMs): Promise<T> {
    if (this.disposedWith) return Promise.reject(this.disposedWith);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs && timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(
                new CodexTransportError(CodexErrorCode.REQUEST_TIMEOUT, `codex did not answer ${method} in time`, {
                  method,
                  timeoutMs,
                }),
              );
            }, timeoutMs)
          : null;
      timer?.unref();
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.send({ kind: 'request', id, method, params }, { id, method, params });
    });
  }

  notify(method: string, params?: unknown): void {
    if (this.disposedWith) return;
    const message = params === undefined ? { method } : { method, params };
    this.send({ kind: 'notification', method, params }, message);
  }

  respond(id: JsonRpcId, result: unknown): void {
    if (this.disposedWith) return;
    this.send({ kind: 'response', id, result }, { id, result });
  }

  respondError(id: JsonRpcId, code: number, message: string): void {
    if (this.disposedWith) return;
    const error = { code, message };
    this.send({ kind: 'error', id, error }, { id, error });
  }

  /** Rejects every pending request with `error`; later calls fail at once with it. */
  dispose(error: CodexTransportError): void {
    if (this.disposedWith) return;
    this.disposedWith = error;
    this.writeQueue = [];
    for (const [id, pending] of this.pending) {
      if (pending.timer) clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(error);
    }
  }

  private send(tap: OutgoingMessage, message: object): void {
    this.options.onOutgoing?.(tap);
    const line = `${wellFormedJson(message)}\n`;
    if (this.waitingForDrain) {
      this.writeQueue.push(line);
      return;
    }
    this.write(line);
  }

  private write(line: string): void {
    if (!this.output.writable) return;
    if (!this.output.write(line)) this.waitingForDrain = true;
  }

  private flushQueue(): void {
    this.waitingForDrain = false;
    while (this.writeQueue.length > 0 && !this.waitingForDrain) {
      this.write(this.writeQueue.shift()!);
    }
  }

  private handleLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.options.onNoise?.(line);
      return;
    }
    if (!message || typeof message !== 'object' || Array.isArray(message)) {
      this.options.onNoise?.(line);
      return;
    }
    const msg = message as Record<string, unknown>;
    const hasId = typeof msg.id === 'number' || typeof msg.id === 'string';
    const params = (msg.params && typeof msg.params === 'object' ? msg.params : {}) as Record<string, unknown>;
    if (typeof msg.method === 'string') {
      if (hasId) this.options.onRequest(msg.id as JsonRpcId, msg.method, params);
      else this.options.onNotification(msg.method, params);
      return;
    }
    if (!hasId) {
      this.options.onNoise?.(line);
      return;
    }
    const pending = this.pending.get(msg.id as JsonRpcId);
    if (!pending) return; // a late answer to a request that already timed out
    this.pending.delete(msg.id as JsonRpcId);
    if (pending.timer) clearTimeout(pending.timer);
    if (msg.error && typeof msg.error === 'object') {
      pending.reject(rpcErrorToTransportError(pending.method, msg.error as JsonRpcErrorBody));
    } else {
      this.options.onIncomingResult?.(pending.method, msg.result);
      pending.resolve(msg.result);
    }
  }
}

/** An escaped UTF-16 surrogate in JSON text: JSON.stringify escapes only lone ones. */
const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * JSON for codex. A lone surrogate is valid in a JS string (and in JSON text) but not in Rust's: codex
 * drops a line that contains one and never answers it. Such strings go out with U+FFFD in its place.
 */
export function wellFormedJson(message: unknown): string {
  const json = JSON.stringify(message);
  if (!ESCAPED_SURROGATE.test(json)) return json;
  return JSON.stringify(message, (_key, value: unknown) =>
    typeof value === 'string' ? value.replace(LONE_SURROGATE, '\ufffd') : value,
  );
}
