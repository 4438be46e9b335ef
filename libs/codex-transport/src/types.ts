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
  /** The client's functions the model may call (app-server backend; they cannot change later). */
  dynamicTools?: DynamicTool[];
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

/** A function the client implements, offered to the model next to codex's own tools (fixed per thread). */
export interface DynamicTool {
  name: string;
  description: string;
  /** JSON schema of the arguments. */
  inputSchema: Record<string, unknown>;
}

/** A client's answer to a tool call. */
export interface ToolCallResult {
  text: string;
  success: boolean;
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
  /**
   * Responses-API items (`message`, `function_call`, `function_call_output`) placed in the thread's history
   * before this turn (app-server backend): a conversation replayed as what it was, not as a transcript.
   * With them, `input` may be empty (the model goes on from the last item, e.g. a tool's output).
   */
  history?: Array<Record<string, unknown>>;
  /** The final answer must be JSON matching this schema (codex applies it in strict mode). */
  outputSchema?: Record<string, unknown>;
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
