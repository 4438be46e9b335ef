/**
 * The frames of the HTTP/2 agent stream (`POST /agent/stream`), for TypeScript clients. See
 * docs/agent-stream.md for the protocol. Every frame may carry the client's `id`; the server echoes it
 * on the frames that frame causes.
 */

import type { ApprovalDecision, CodexItem, TokenUsage } from '@app/codex-transport';

export const NDJSON = 'application/x-ndjson';
export const LENGTH_PREFIXED = 'application/length-prefixed-json';
export type Framing = typeof NDJSON | typeof LENGTH_PREFIXED;

/** Largest frame either side may send (bytes of JSON). */
export const MAX_FRAME_BYTES = 1024 * 1024;

// ---- client → server ----------------------------------------------------------------------------

/** codex's policies and the ones of the original codex-api project (`suggest`, `auto-edit`, `full-auto`). */
export type AgentApprovalPolicy = 'untrusted' | 'on-request' | 'never' | 'suggest' | 'auto-edit' | 'full-auto';

export interface ConfigOverrides {
  model?: string;
  approvalPolicy?: AgentApprovalPolicy;
  sandbox?: 'read-only' | 'workspace-write' | 'danger-full-access';
  /** Inside the gateway's workspace roots. */
  cwd?: string;
}

export interface UserMessageFrame {
  type: 'user_message';
  id?: string;
  /** Chosen by the client, or generated; names one codex thread of the caller. */
  sessionId?: string;
  content: string;
  /** Image files inside the workspace roots. */
  imagePaths?: string[];
  configOverrides?: ConfigOverrides;
}

export type AgentDecision = 'allow' | 'deny' | ApprovalDecision;

export interface ApproveFrame {
  type: 'approve';
  id?: string;
  sessionId: string;
  /** The `commandId` of a `command_prompt`. */
  commandId: string;
  decision: AgentDecision;
  explanation?: string;
}

export interface CancelFrame {
  type: 'cancel';
  id?: string;
  sessionId: string;
}

export interface PingFrame {
  type: 'ping';
  id?: string;
}

export type ClientFrame = UserMessageFrame | ApproveFrame | CancelFrame | PingFrame;

// ---- server → client ----------------------------------------------------------------------------

export interface SessionFrame {
  type: 'session';
  id?: string;
  sessionId: string;
  threadId: string;
  /** True when the session already existed (its thread's history continues). */
  resumed: boolean;
}

/** A delta names its item and kind; started/completed carry the whole normalized item. */
export type ResponseItem =
  CodexItem | { id: string; type: 'delta'; kind: 'text' | 'reasoning' | 'output'; delta: string };

export interface ItemFrame {
  type: 'item';
  id?: string;
  sessionId: string;
  turnId: string;
  phase: 'started' | 'delta' | 'completed';
  responseItem: ResponseItem;
}

export interface CommandPromptFrame {
  type: 'command_prompt';
  id?: string;
  sessionId: string;
  /** Answer with an `approve` frame naming this id. */
  commandId: string;
  command: string[];
  commandLine: string;
  cwd: string | null;
  explanation?: string;
  /** `allow`/`deny` always work; these are codex's own decisions. */
  availableDecisions: ApprovalDecision[];
}

export interface StatusFrame {
  type: 'status';
  id?: string;
  sessionId?: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface TurnCompletedFrame {
  type: 'turn_completed';
  id?: string;
  sessionId: string;
  turnId: string;
  status: 'completed' | 'interrupted' | 'failed';
  usage: TokenUsage | null;
  error?: { code: string; message: string };
}

export interface ErrorFrame {
  type: 'error';
  id?: string;
  sessionId?: string;
  message: string;
  code: string;
  retryable?: boolean;
  /** Seconds to wait before trying again, when the gateway knows (codex failed to start: its back-off). */
  retryAfter?: number;
}

export interface HeartbeatFrame {
  type: 'heartbeat';
  id?: string;
  timestamp: number;
}

export interface TerminateFrame {
  type: 'terminate';
  reason: string;
}

export type ServerFrame =
  | SessionFrame
  | ItemFrame
  | CommandPromptFrame
  | StatusFrame
  | TurnCompletedFrame
  | ErrorFrame
  | HeartbeatFrame
  | TerminateFrame;
