import type { CodexEvent, TokenUsage } from '@app/codex-transport';
import type { ServerFrame } from './agent-frames';
import { commandWords } from './client-frames';

/** What the frames of a turn's events carry besides the event. */
export interface TurnFrames {
  /** The id of the `user_message` frame that started the turn. */
  id: string | undefined;
  sessionId: string;
  /** The turn's usage so far (sent with `turn_completed`). */
  usage: TokenUsage | null;
}

/** The server frames for one event of a turn (none for events the stream does not show). */
export function eventFrames(event: CodexEvent, turn: TurnFrames): ServerFrame[] {
  const { id, sessionId } = turn;
  switch (event.type) {
    case 'turn.started':
      return [
        {
          type: 'status',
          id,
          sessionId,
          message: 'turn started',
          details: { turnId: event.turnId, threadId: event.threadId },
        },
      ];
    case 'item.started':
    case 'item.completed':
      return [
        {
          type: 'item',
          id,
          sessionId,
          turnId: event.turnId,
          phase: event.type === 'item.started' ? 'started' : 'completed',
          responseItem: event.item,
        },
      ];
    case 'item.delta':
      return [
        {
          type: 'item',
          id,
          sessionId,
          turnId: event.turnId,
          phase: 'delta',
          responseItem: { id: event.itemId, type: 'delta', kind: event.kind, delta: event.delta },
        },
      ];
    case 'approval.requested': {
      const a = event.approval;
      const commandLine = a.command ?? '';
      return [
        {
          type: 'command_prompt',
          id,
          sessionId,
          commandId: a.id,
          command: commandWords(commandLine),
          commandLine,
          cwd: a.cwd,
          ...(a.reason ? { explanation: a.reason } : {}),
          availableDecisions: a.availableDecisions,
        },
        {
          type: 'status',
          id,
          sessionId,
          message: 'waiting on approval',
          details: { commandId: a.id, kind: a.kind },
        },
      ];
    }
    case 'approval.resolved':
      return [
        {
          type: 'status',
          id,
          sessionId,
          message: 'approval resolved',
          details: { commandId: event.approvalId, decision: event.decision, reason: event.reason },
        },
      ];
    case 'usage':
      return [];
    case 'warning':
      return [{ type: 'status', id, sessionId, message: 'warning', details: { message: event.message } }];
    case 'error':
      return [
        {
          type: 'error',
          id,
          sessionId,
          code: 'codex_error',
          message: event.message,
          retryable: event.willRetry,
        },
      ];
    case 'turn.completed':
      return [
        {
          type: 'turn_completed',
          id,
          sessionId,
          turnId: event.turnId,
          status: event.status,
          usage: turn.usage,
          ...(event.error ? { error: { code: event.error.code, message: event.error.message } } : {}),
        },
      ];
    default:
      return [];
  }
}
