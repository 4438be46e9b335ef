import type { CodexEvent, CodexItem } from '@app/codex-transport';
import type { TurnResultDto } from './dto/turn-response.dto';

/** Folds a turn's events into its result: every completed item in order, usage, status, error. */
export function foldTurn(threadId: string, events: CodexEvent[]): TurnResultDto {
  const items = new Map<string, CodexItem>();
  const result: TurnResultDto = { id: '', threadId, status: 'inProgress', items: [], error: null, usage: null };
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
