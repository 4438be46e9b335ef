import type { CodexEvent, CodexItem, TokenUsage, TurnError } from '@app/codex-transport';
import { describeFailure } from '../errors/failure';
import type { SseMessage } from '../sse/sse-writer';

/** A turn as the gateway's own APIs answer it once it ended (REST `turn/start`, `/chat`). */
export interface TurnResult {
  id: string;
  threadId: string;
  status: 'inProgress' | 'completed' | 'interrupted' | 'failed';
  items: Array<Record<string, unknown>>;
  error: TurnError | null;
  usage: TokenUsage | null;
}

/** Folds a turn's events into its result: every completed item in order, usage, status, error. */
export function foldTurn(threadId: string, events: CodexEvent[]): TurnResult {
  const items = new Map<string, CodexItem>();
  const result: TurnResult = { id: '', threadId, status: 'inProgress', items: [], error: null, usage: null };
  for (const event of events) {
    switch (event.type) {
      case 'turn.started':
        result.id = event.turnId;
        break;
      case 'item.completed':
        items.delete(event.item.id); // a re-sent item moves to where it completed last
        items.set(event.item.id, event.item);
        break;
      case 'usage':
        result.usage = { ...event.usage };
        break;
      case 'turn.completed':
        result.id = event.turnId || result.id;
        result.status = event.status;
        result.error = event.error ? { code: event.error.code, message: event.error.message } : null;
        break;
      default:
        break;
    }
  }
  result.items = [...items.values()] as unknown as Array<Record<string, unknown>>;
  return result;
}

/** A normalized event as a server-sent event named after its type, with its JSON as data. */
export function eventMessage(event: CodexEvent): SseMessage {
  return { event: event.type, data: event };
}

/** The in-band `error` event sent when a turn stream breaks after its headers are out. */
export function turnErrorMessage(threadId: string, error: unknown): SseMessage {
  const failure = describeFailure(error);
  const code = failure.unexpected ? 'INTERNAL' : (failure.code ?? 'INTERNAL');
  return {
    event: 'error',
    data: { type: 'error', threadId, turnId: null, message: failure.message, code, willRetry: false },
  };
}
