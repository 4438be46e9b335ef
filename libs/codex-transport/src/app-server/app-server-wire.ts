/**
 * How the session speaks to codex and reads its answers: thread ids checked before asking, raw thread items
 * normalized, turn input and sandbox settings in codex's wire shape.
 */
import { CodexErrorCode, CodexTransportError, isCodexTransportError } from '../errors/codex-transport.error';
import type { CodexThread, ThreadSession, TurnInput } from '../types';
import { mapThreadItem } from './item.mapper';

const THREAD_ID = /^(urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** codex thread ids are UUIDs; anything else is unknown without asking codex. */
/** Whether `id` has the shape of a codex thread id. */
export function isThreadId(id: unknown): id is string {
  return typeof id === 'string' && THREAD_ID.test(id);
}

export function assertThreadId(threadId: string): void {
  if (!isThreadId(threadId)) {
    throw new CodexTransportError(CodexErrorCode.THREAD_NOT_FOUND, 'thread not found');
  }
}

/** Thread results carry codex's raw items; callers get normalized ones. */
export function normalizeThread(thread: CodexThread): CodexThread {
  const turns = Array.isArray(thread.turns) ? thread.turns : [];
  return {
    ...thread,
    turns: turns.map((turn) => ({
      ...turn,
      items: (Array.isArray(turn.items) ? turn.items : []).map((item) =>
        mapThreadItem(item as unknown as Record<string, unknown>),
      ),
    })),
  };
}

export function normalizeSession(session: ThreadSession): ThreadSession {
  return { ...session, thread: normalizeThread(session.thread) };
}

export function toCodexInput(input: TurnInput): Record<string, unknown> {
  return input.type === 'text' ? { type: 'text', text: input.text, text_elements: [] } : { ...input };
}

export function sandboxPolicy(mode: string, cwd?: string): Record<string, unknown> {
  if (mode === 'danger-full-access') return { type: 'dangerFullAccess' };
  if (mode === 'workspace-write') return { type: 'workspaceWrite', writableRoots: cwd ? [cwd] : [] };
  return { type: 'readOnly' };
}

/** Drops undefined fields (codex treats absent and null differently for some keys). */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
  return obj;
}

export function asTransportError(error: unknown): CodexTransportError {
  if (isCodexTransportError(error)) return error;
  return new CodexTransportError(CodexErrorCode.RPC_ERROR, (error as Error)?.message ?? String(error));
}
