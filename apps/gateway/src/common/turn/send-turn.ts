import type { Response } from 'express';
import { concatMap, lastValueFrom, type Observable, toArray } from 'rxjs';
import { untilClientGone } from '../sse/client-gone';
import { type SseMessage, writeSse } from '../sse/sse-writer';

/** How one protocol writes a turn (or a response's run) over HTTP: its stream framing and its one JSON answer. */
export interface TurnWire<E, B> {
  /** The server-sent events for one event of the turn; `index` counts the turn's events from 0. */
  messages(event: E, index: number): SseMessage[];
  /** The last message of a stream that breaks once its headers are out (without one the stream just ends). */
  streamError?(error: unknown): SseMessage;
  /** Written after the last message (`data: [DONE]` on OpenAI streams). */
  terminator?: string;
  /** The JSON answer for the whole turn; throws a domain error when the turn failed. */
  fold(events: E[]): B;
}

/**
 * Sends a turn as server-sent events while it runs, or as one JSON body once it ends, and returns that body
 * (null when streamed, or when the client left). Either way a client that leaves first unsubscribes from
 * `events$`, which interrupts the turn. A turn that cannot start, and a failed turn answered with JSON, are
 * thrown for the route's exception filter, so they get an HTTP status; once a stream is open an error is
 * its last message.
 */
export async function sendTurn<E, B>(
  res: Response,
  events$: Observable<E>,
  wire: TurnWire<E, B>,
  stream: boolean,
): Promise<B | null> {
  if (stream) {
    await writeSse(res, events$.pipe(concatMap((event, index) => wire.messages(event, index))), {
      terminator: wire.terminator,
      errorMessage: wire.streamError?.bind(wire),
    });
    return null;
  }
  const events = await lastValueFrom(events$.pipe(untilClientGone(res), toArray()));
  if (res.destroyed || res.writableEnded) return null; // the client left; its turn was interrupted
  const body = wire.fold(events);
  res.status(200).json(body);
  return body;
}
