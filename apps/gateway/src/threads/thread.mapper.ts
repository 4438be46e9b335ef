import type { CodexThread, CodexTurn, ThreadSession } from '@app/codex-transport';
import type { ThreadDto, ThreadSessionDto, TurnSummaryDto } from './dto/thread-response.dto';

const SANDBOX_NAMES: Record<string, string> = {
  readOnly: 'read-only',
  workspaceWrite: 'workspace-write',
  dangerFullAccess: 'danger-full-access',
  externalSandbox: 'external',
};

/** codex reports the sandbox as `{type: "readOnly", ...}`; clients set it as `read-only`. */
export function sandboxName(sandbox: unknown): string {
  if (typeof sandbox === 'string') return sandbox;
  const type = (sandbox as { type?: string } | null)?.type;
  return (type && SANDBOX_NAMES[type]) ?? 'unknown';
}

export function toTurnSummary(turn: CodexTurn): TurnSummaryDto {
  return {
    id: turn.id,
    status: turn.status,
    items: turn.items as unknown as Array<Record<string, unknown>>,
    error: turn.error ? { message: turn.error.message } : null,
  };
}

/** The public view of a thread: no rollout path or other internals. */
export function toThreadDto(thread: CodexThread, includeTurns: boolean): ThreadDto {
  const dto: ThreadDto = {
    id: thread.id,
    preview: thread.preview ?? '',
    name: typeof thread.name === 'string' ? thread.name : null,
    createdAt: thread.createdAt,
    updatedAt: thread.updatedAt,
    cwd: thread.cwd,
    modelProvider: thread.modelProvider,
    status: thread.status?.type ?? 'unknown',
    forkedFromId: thread.forkedFromId ?? null,
  };
  if (includeTurns) dto.turns = (thread.turns ?? []).map(toTurnSummary);
  return dto;
}

export function toThreadSessionDto(session: ThreadSession, includeTurns = false): ThreadSessionDto {
  return {
    thread: toThreadDto(session.thread, includeTurns),
    model: session.model,
    modelProvider: session.modelProvider,
    cwd: session.cwd,
    approvalPolicy:
      typeof session.approvalPolicy === 'string' ? session.approvalPolicy : JSON.stringify(session.approvalPolicy),
    sandbox: sandboxName(session.sandbox),
    reasoningEffort: session.reasoningEffort ?? null,
  };
}
