/**
 * The normalized event vocabulary every protocol adapter maps from. Both backends (app-server and exec)
 * produce exactly these shapes, so an adapter never sees JSON-RPC or exec JSONL.
 */

export type ItemStatus = 'inProgress' | 'completed' | 'failed' | 'declined';

export interface UserMessageItem {
  type: 'userMessage';
  id: string;
  text: string;
  /** Non-text inputs (images, skills) as codex reported them. */
  content: unknown[];
}

export interface AgentMessageItem {
  type: 'agentMessage';
  id: string;
  text: string;
}

export interface ReasoningItem {
  type: 'reasoning';
  id: string;
  /** Reasoning summary text (what the model chose to show). */
  text: string;
}

export interface CommandExecutionItem {
  type: 'commandExecution';
  id: string;
  command: string;
  cwd: string | null;
  status: ItemStatus;
  output: string;
  exitCode: number | null;
  durationMs: number | null;
}

export interface FileChangeItem {
  type: 'fileChange';
  id: string;
  status: ItemStatus;
  changes: Array<{ path: string; kind: string; diff?: string }>;
}

export interface ToolCallItem {
  type: 'toolCall';
  id: string;
  tool: string;
  server: string | null;
  status: ItemStatus;
  arguments: unknown;
  result: unknown;
}

/** A call of one of the client's own functions (its result comes from the client, see the `tool.call` event). */
export interface ClientToolCallItem {
  type: 'clientToolCall';
  id: string;
  tool: string;
  status: ItemStatus;
  arguments: unknown;
  /** What the client returned (codex's content items), once answered. */
  result: unknown;
}

export interface WebSearchItem {
  type: 'webSearch';
  id: string;
  query: string;
}

/** Anything codex reports that has no normalized shape yet; kept rather than dropped. */
export interface OtherItem {
  type: 'other';
  id: string;
  kind: string;
  raw: unknown;
}

export type CodexItem =
  | UserMessageItem
  | AgentMessageItem
  | ReasoningItem
  | CommandExecutionItem
  | FileChangeItem
  | ToolCallItem
  | ClientToolCallItem
  | WebSearchItem
  | OtherItem;

export interface TokenUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
}

export type ApprovalKind = 'command' | 'fileChange' | 'permissions';

/** Decisions a client may send for an approval request. */
export const APPROVAL_DECISIONS = ['accept', 'acceptForSession', 'decline', 'cancel'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

export interface ApprovalRequest {
  /** Gateway-issued id, unique across processes and tenants. */
  id: string;
  tenant: string;
  kind: ApprovalKind;
  threadId: string;
  turnId: string;
  itemId: string | null;
  command: string | null;
  cwd: string | null;
  reason: string | null;
  availableDecisions: ApprovalDecision[];
  /** Epoch milliseconds when codex asked. */
  createdAt: number;
}

export type TurnStatus = 'completed' | 'interrupted' | 'failed';

export interface TurnError {
  code: string;
  message: string;
  /** How long the provider asked to wait before trying again (a rate limit). */
  retryAfterMs?: number;
}

interface TurnScoped {
  threadId: string;
  turnId: string;
}

export type CodexEvent =
  | { type: 'thread.started'; threadId: string }
  | ({ type: 'turn.started' } & TurnScoped)
  | ({ type: 'item.started'; item: CodexItem } & TurnScoped)
  | ({
      type: 'item.delta';
      itemId: string;
      /** text: agent message; reasoning: reasoning summary; output: command output. */
      kind: 'text' | 'reasoning' | 'output';
      delta: string;
    } & TurnScoped)
  | ({ type: 'item.completed'; item: CodexItem } & TurnScoped)
  | ({ type: 'approval.requested'; approval: ApprovalRequest } & TurnScoped)
  | ({
      type: 'approval.resolved';
      approvalId: string;
      decision: ApprovalDecision;
      /** answered: a client decided; timeout: nobody answered in time; turnEnded: the turn ended first. */
      reason: 'answered' | 'timeout' | 'turnEnded';
    } & TurnScoped)
  | ({
      type: 'tool.call';
      /** The model's own call id (codex's `callId`); answer it with `answerToolCall`. */
      callId: string;
      name: string;
      /** The arguments as a JSON string, the way OpenAI's APIs carry them. */
      arguments: string;
    } & TurnScoped)
  | ({
      type: 'tool.resolved';
      callId: string;
      /** answered: the client's result went to codex; timeout: nobody answered in time (codex got `success: false`). */
      reason: 'answered' | 'timeout';
    } & TurnScoped)
  | ({ type: 'usage'; usage: TokenUsage } & TurnScoped)
  | { type: 'warning'; threadId: string | null; message: string }
  | { type: 'error'; threadId: string | null; turnId: string | null; message: string; willRetry: boolean }
  | ({ type: 'turn.completed'; status: TurnStatus; error: TurnError | null } & TurnScoped);

export type CodexEventType = CodexEvent['type'];

export const EMPTY_USAGE: TokenUsage = Object.freeze({
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
  totalTokens: 0,
});

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    reasoningOutputTokens: a.reasoningOutputTokens + b.reasoningOutputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}
