import type { SseMessage } from '../../common/sse/sse-writer';
import type { TurnWire } from '../../common/turn/send-turn';
import type { ResponseObject, ResponseStreamEvent } from './response-object';
import type { ResponseRun } from './response-run';

/** One response event as a server-sent event named after its type. */
export function responseEventMessage(event: ResponseStreamEvent): SseMessage {
  return { event: event.type, data: event };
}

/**
 * The Responses API: each event named after its type, with the event as data (no terminator; the last event
 * is `response.completed`, `.failed`, `.incomplete` or `.cancelled`); or the Response once the run ends. A
 * failed run answers with the error status of its failure (the failed Response stays retrievable).
 */
export function responsesWire(run: ResponseRun): TurnWire<ResponseStreamEvent, ResponseObject> {
  return {
    messages: (event) => [responseEventMessage(event)],
    fold: () => {
      const response = run.snapshot();
      if (response.status === 'failed' && run.failure) throw run.failure;
      return response;
    },
  };
}
