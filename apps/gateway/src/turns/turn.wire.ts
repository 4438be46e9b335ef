import type { CodexEvent } from '@app/codex-transport';
import { TurnFailedError } from '../common/errors/gateway-error';
import type { TurnWire } from '../common/turn/send-turn';
import { eventMessage, foldTurn, turnErrorMessage } from '../common/turn/turn-events.mapper';
import type { TurnResponseDto } from './dto/turn-response.dto';

/**
 * REST `turn/start`: each event as a server-sent event named after its type; or `{turn}` once it ended, a
 * failed turn being an error status whose body still carries the turn.
 */
export function restTurnWire(threadId: string): TurnWire<CodexEvent, TurnResponseDto> {
  return {
    messages: (event) => [eventMessage(event)],
    streamError: (error) => turnErrorMessage(threadId, error),
    fold: (events) => {
      const turn = foldTurn(threadId, events);
      if (turn.status === 'failed' && turn.error) throw new TurnFailedError(turn.error, { turn });
      return { turn };
    },
  };
}
