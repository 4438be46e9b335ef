import type { ApprovalPolicy, SandboxMode } from './codex-home/codex-home.writer';
import type { CodexItem } from './events';

/** One piece of user input for a turn, in codex's own vocabulary. */
export type TurnInput =
  | { type: 'text'; text: string }
  | { type: 'image'; url: string }
  | { type: 'localImage'; path: string }
  | { type: 'skill'; name: string; path: string };

/** Per-thread policy overrides; omitted fields use the gateway's defaults. */
export interface ThreadOverrides {
  cwd?: string;
  model?: string;
  approvalPolicy?: ApprovalPolicy;
  sandbox?: SandboxMode;
  developerInstructions?: string;
  baseInstructions?: string;
}

export interface StartThreadParams extends ThreadOverrides {
  /** Not written to disk and not listed (stateless requests). */
  ephemeral?: boolean;
}

export interface ResumeThreadParams extends ThreadOverrides {
  threadId: string;
}

export interface ForkThreadParams extends ThreadOverrides {
  threadId: string;
  /** Copy history only up to and including this turn. */
  lastTurnId?: string;
  ephemeral?: boolean;
  /** Leave the copied turns out of the answer (codex requires this for an ephemeral fork). */
  excludeTurns?: boolean;
}

export interface ListThreadsParams {
  limit?: number;
  cursor?: string;
  /** Include threads made by `codex exec` (hidden by codex's default listing). */
  includeExec?: boolean;
}

export interface RunTurnParams {
  threadId: string;
  input: TurnInput[];
  model?: string;
  effort?: string;
  cwd?: string;
  approvalPolicy?: ApprovalPolicy;
  sandbox?: SandboxMode;
  /**
   * A developer message placed in the thread's history just before this turn's input (app-server
   * backend; codex's `thread/inject_items`). It stays in the history at that position.
   */
  developerMessage?: string;
}

/** A thread as codex describes it (the fields the gateway relies on; codex sends more). */
export interface CodexThread {
  id: string;
  preview: string;
  createdAt: number;
  updatedAt: number;
  cwd: string;
  model?: string;
  modelProvider: string;
  forkedFromId: string | null;
  ephemeral: boolean;
  status: { type: string };
  turns: CodexTurn[];
  [key: string]: unknown;
}

/** A stored turn; its items are already normalized. */
export interface CodexTurn {
  id: string;
  status: 'completed' | 'interrupted' | 'failed' | 'inProgress';
  items: CodexItem[];
  error: { message: string } | null;
  startedAt?: number | null;
  completedAt?: number | null;
  durationMs?: number | null;
  [key: string]: unknown;
}

/** thread/start, thread/resume and thread/fork answer with the thread plus its effective settings. */
export interface ThreadSession {
  thread: CodexThread;
  model: string;
  modelProvider: string;
  cwd: string;
  approvalPolicy: unknown;
  sandbox: unknown;
  reasoningEffort: string | null;
  [key: string]: unknown;
}

export interface ThreadList {
  data: CodexThread[];
  nextCursor: string | null;
}

export interface SkillsListParams {
  cwds?: string[];
  forceReload?: boolean;
}

export interface SkillConfigWriteParams {
  name?: string;
  path?: string;
  enabled: boolean;
}
