import type { CodexEvent, TokenUsage } from '@app/codex-transport';
import { CodexErrorCode } from '@app/codex-transport';

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'incomplete' | 'cancelled';
export type ItemStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}

export interface MessageOutputItem {
  id: string;
  type: 'message';
  role: 'assistant';
  status: ItemStatus;
  content: OutputText[];
}

export interface ReasoningOutputItem {
  id: string;
  type: 'reasoning';
  status: ItemStatus;
  summary: Array<{ type: 'summary_text'; text: string }>;
}

/** Codex's own activity (commands, file changes, tool calls, searches): documented extension items. */
export interface CodexOutputItem {
  id: string;
  type: `codex_${string}`;
  status: ItemStatus;
  [field: string]: unknown;
}

/** A call of one of the client's functions: the client runs it and sends a `function_call_output` back. */
export interface FunctionCallOutputItem {
  id: string;
  type: 'function_call';
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

export type OutputItem = MessageOutputItem | ReasoningOutputItem | FunctionCallOutputItem | CodexOutputItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  completed_at: number | null;
  status: ResponseStatus;
  background: boolean;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
  instructions: string | null;
  model: string;
  output: OutputItem[];
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  usage: ResponseUsage | null;
  metadata: Record<string, string>;
  /** Request fields echoed as sent (temperature, top_p, tools, text, …). */
  [echoed: string]: unknown;
}

export interface ResponseStreamEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

/** How a run ended, in the terms of the Responses API. */
export interface RunOutcome {
  status: 'completed' | 'failed' | 'incomplete' | 'cancelled';
  error?: { code: string; message: string };
  incompleteReason?: string;
}

export function toResponseUsage(u: TokenUsage): ResponseUsage {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningOutputTokens },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}

/** The Responses outcome of a finished codex turn. */
export function outcomeOf(event: Extract<CodexEvent, { type: 'turn.completed' }>, cancelled: boolean): RunOutcome {
  if (event.status === 'completed') return { status: 'completed' };
  if (event.status === 'interrupted' || cancelled) return { status: 'cancelled' };
  if (event.error?.code === CodexErrorCode.TURN_TIMEOUT) return { status: 'incomplete', incompleteReason: 'timeout' };
  return { status: 'failed', error: { code: 'server_error', message: event.error?.message ?? 'the turn failed' } };
}

/** Request fields echoed in the Response object as the client sent them, and their defaults. */
const ECHOED = {
  temperature: null,
  top_p: null,
  max_output_tokens: null,
  tools: [],
  tool_choice: 'auto',
  text: { format: { type: 'text' } },
  parallel_tool_calls: true,
  truncation: 'disabled',
  user: null,
} as const satisfies Record<string, unknown>;

/** What a new Response object is made of. */
export interface NewResponse {
  id: string;
  /** The model the client named (echoed). */
  model: string;
  instructions: string | null;
  previousResponseId: string | null;
  reasoning: { effort?: string; summary?: string } | undefined;
  store: boolean;
  background: boolean;
  metadata: Record<string, string>;
  /** The request as sent, for the echoed fields. */
  request: Partial<Record<keyof typeof ECHOED, unknown>>;
}

/** A Response object in progress, as `response.created` announces it. */
export function newResponseObject(r: NewResponse): ResponseObject {
  return {
    id: r.id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    completed_at: null,
    status: 'in_progress',
    background: r.background,
    error: null,
    incomplete_details: null,
    instructions: r.instructions,
    model: r.model,
    output: [],
    previous_response_id: r.previousResponseId,
    reasoning: { effort: r.reasoning?.effort ?? null, summary: r.reasoning?.summary ?? null },
    store: r.store,
    usage: null,
    metadata: r.metadata,
    ...Object.fromEntries(
      Object.entries(ECHOED).map(([k, fallback]) => [k, r.request[k as keyof typeof ECHOED] ?? fallback]),
    ),
  };
}
