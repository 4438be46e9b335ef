import type { CodexEvent } from '@app/codex-transport';
import { TurnFailedError } from '../common/errors/gateway-error';
import type { SseMessage } from '../common/sse/sse-writer';
import type { TurnWire } from '../common/turn/send-turn';
import { eventMessage, foldTurn, turnErrorMessage } from '../common/turn/turn-events.mapper';
import type { ChatResponseDto } from './dto/chat.dto';

/**
 * `/chat`: a `session` event, the turn's events named after their types, then `data: [DONE]`; or one JSON
 * answer with the last agent message as `response`.
 */
export function chatWire(threadId: string): TurnWire<CodexEvent, ChatResponseDto> {
  const session: SseMessage = { event: 'session', data: { type: 'session', thread_id: threadId } };
  return {
    // The session event goes out with the first turn event, so a turn that cannot start still gets an HTTP status.
    messages: (event, index) => (index === 0 ? [session, eventMessage(event)] : [eventMessage(event)]),
    streamError: (error) => turnErrorMessage(threadId, error),
    terminator: 'data: [DONE]\n\n',
    fold: (events) => {
      const turn = foldTurn(threadId, events);
      if (turn.status === 'failed' && turn.error) throw new TurnFailedError(turn.error, { thread_id: threadId });
      const last = turn.items.filter((item) => item.type === 'agentMessage').at(-1);
      return {
        thread_id: threadId,
        turn_id: turn.id,
        status: turn.status,
        response: typeof last?.text === 'string' ? last.text : '',
        items: turn.items,
        usage: turn.usage as unknown as Record<string, number> | null,
      };
    },
  };
}
