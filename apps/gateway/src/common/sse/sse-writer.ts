import { Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Observable, Subscription } from 'rxjs';

/** One server-sent event: an optional `event:` name and a `data:` payload (objects become JSON). */
export interface SseMessage {
  event?: string;
  data: unknown;
  id?: string;
}

export interface SseOptions {
  /** A comment line is sent after this much silence so proxies keep the stream open. */
  keepaliveMs?: number;
  /** Turns an error of the source into the last message (sent in-band once headers are out). */
  errorMessage?: (error: unknown) => SseMessage;
  /** A line written after the last message (`data: [DONE]` for OpenAI streams). */
  terminator?: string;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

export const DEFAULT_KEEPALIVE_MS = 15_000;

let openStreams = 0;
let bufferLimit = 8 * 2 ** 20;
/** The most a stream may hold for a client that does not read (CODEX_STREAM_BUFFER_MB); set at boot. */
export function setStreamBufferLimit(bytes: number): void {
  bufferLimit = bytes;
}
let overflows = 0;
/** Streams ended because their client stopped reading (for metrics). */
export function sseOverflows(): number {
  return overflows;
}
/** SSE streams whose headers are out and that have not ended yet (for metrics). */
export function openSseStreams(): number {
  return openStreams;
}

function frame(message: SseMessage): string {
  const data = typeof message.data === 'string' ? message.data : JSON.stringify(message.data);
  let out = '';
  if (message.id !== undefined) out += `id: ${message.id}\n`;
  if (message.event) out += `event: ${message.event}\n`;
  for (const line of data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * Streams an Observable as `text/event-stream`, the way Nest's own SSE support does (same headers), plus:
 * headers go out with the first message, in the same write — so an error before it still gets a real
 * HTTP status through the exception filter (the returned promise rejects) — writes wait for `drain`, a
 * keepalive comment is sent after silence, a client that goes away unsubscribes (which cancels the work),
 * and an error after the headers becomes an in-band message before the stream ends. A client that stops
 * reading costs at most the stream buffer limit: past it the stream is ended as if the client had left.
 */
export function writeSse(res: Response, source: Observable<SseMessage>, options: SseOptions = {}): Promise<void> {
  const keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
  return new Promise<void>((resolve, reject) => {
    // Events of one tick (codex often sends several lines at once) leave in one write.
    let pending = '';
    let scheduled = false;
    let waitingForDrain = false;
    let ending = false;
    let finished = false;
    let subscription: Subscription | null = null;
    let keepalive: NodeJS.Timeout | null = null;
    /** The status and headers are set; they leave with the first write. */
    let opened = false;

    const openHeaders = () => {
      if (opened || res.headersSent) return;
      opened = true;
      openStreams++;
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('Connection', 'keep-alive');
      res.setHeader('X-Accel-Buffering', 'no');
      for (const [k, v] of Object.entries(options.headers ?? {})) res.setHeader(k, v);
      res.socket?.setNoDelay(true);
    };
    /** (Re)starts the silence timer; one timer per stream, refreshed rather than replaced. */
    const armKeepalive = () => {
      if (finished || keepaliveMs <= 0) return;
      if (keepalive) {
        keepalive.refresh();
        return;
      }
      keepalive = setTimeout(() => {
        openHeaders();
        push(': keepalive\n\n');
        keepalive?.refresh();
      }, keepaliveMs);
      keepalive.unref();
    };
    /** Ends the stream's bookkeeping; with an argument, the promise rejects with it. */
    const finish = (...failure: [] | [unknown]) => {
      if (finished) return;
      finished = true;
      if (opened) openStreams--;
      if (keepalive) clearTimeout(keepalive);
      res.off('close', onClose);
      res.off('drain', flush);
      if (failure.length === 0) resolve();
      else reject(failure[0]);
    };
    const flush = () => {
      scheduled = false;
      waitingForDrain = false;
      if (finished || res.writableEnded) return;
      if (pending) {
        const chunk = pending;
        pending = '';
        if (!res.write(chunk)) waitingForDrain = true;
      }
      if (!waitingForDrain && ending) {
        res.end();
        finish();
      }
    };
    const schedule = () => {
      if (scheduled || waitingForDrain) return;
      scheduled = true;
      process.nextTick(flush);
    };
    const push = (chunk: string) => {
      if (finished || res.writableEnded) return;
      pending += chunk;
      if (waitingForDrain && pending.length + res.writableLength > bufferLimit) {
        overflow();
        return;
      }
      schedule();
    };
    /** The client has not read what it was sent: it is not going to, or not soon; it is dropped like one that left. */
    const overflow = () => {
      overflows++;
      new Logger('Sse').warn(
        `a client stopped reading: ${pending.length + res.writableLength} bytes waiting (limit ${bufferLimit}); its stream is ended and its turn interrupted`,
      );
      pending = '';
      subscription?.unsubscribe();
      res.destroy();
      finish();
    };
    const end = () => {
      ending = true;
      if (options.terminator) pending += options.terminator;
      schedule();
    };
    const onClose = () => {
      if (finished) return;
      // The client went away first: stop the source (this cancels the turn).
      subscription?.unsubscribe();
      finish();
    };

    // `res` 'close' before the end means the client went away (`req` 'close' only says the body was read).
    res.on('close', onClose);
    res.on('drain', flush);
    armKeepalive();
    subscription = source.subscribe({
      next: (message) => {
        openHeaders();
        push(frame(message));
        armKeepalive();
      },
      error: (error: unknown) => {
        if (!opened && !res.headersSent) {
          finish(error ?? new Error('stream failed'));
          return;
        }
        if (options.errorMessage) push(frame(options.errorMessage(error)));
        end();
      },
      complete: () => {
        openHeaders();
        end();
      },
    });
    if (finished) subscription.unsubscribe();
  });
}

/** True when the client asked for a stream: `"stream": true` or `Accept: text/event-stream`. */
export function wantsEventStream(req: Request, bodyStream: unknown): boolean {
  if (bodyStream === true) return true;
  if (bodyStream === false) return false;
  return /text\/event-stream/i.test(req.header('accept') ?? '');
}
