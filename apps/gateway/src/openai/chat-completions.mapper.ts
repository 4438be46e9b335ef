import { randomUUID } from 'node:crypto';
import { CodexErrorCode, type CodexEvent, type TokenUsage } from '@app/codex-transport';
import type { ForcedCall, OutputFormat } from './structured/output-format';
import type { TurnEvent } from './tools/tool-turn';
import { TurnFailedError } from '../common/errors/gateway-error';
import { AnswerTagStripper, stripAnswerTags } from './answer-tags';

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export function toChatUsage(u: TokenUsage | null): ChatUsage {
  const usage = u ?? {
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningOutputTokens: 0,
    totalTokens: 0,
  };
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningOutputTokens },
  };
}

export interface ChunkContext {
  id: string;
  created: number;
  /** The model name the client asked for (echoed). */
  model: string;
  includeUsage: boolean;
  /** Stream codex's activity as `reasoning_content` and `codex_event` (extension). */
  codexEvents: boolean;
  /** CODEX_STRIP_ANSWER_TAGS. */
  stripAnswerTags?: boolean;
  /** The answer must have this format (`response_format`): it is checked whole, then sent. */
  format?: OutputFormat | null;
  /** The answer stands for this function call (a forced `tool_choice`). */
  forced?: ForcedCall | null;
}

/** The final answer of a turn with a format, checked: its content in the client's terms, or the call it stands for. */
function formattedAnswer(
  ctx: ChunkContext,
  text: string,
): { content: string; call: null } | { content: null; call: ReturnType<typeof toolCall> } {
  const format = ctx.forced?.format ?? ctx.format!;
  const checked = format.check(text);
  if (!checked.ok) throw new TurnFailedError({ code: CodexErrorCode.OUTPUT_INVALID, message: checked.message });
  if (!ctx.forced) return { content: checked.text, call: null };
  const call = ctx.forced.call(checked.text);
  const callId = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  return { content: null, call: toolCall({ callId, name: call.name, arguments: call.arguments }) };
}

type Chunk = Record<string, unknown>;

/** A failed turn becomes an error the HTTP layer reports (status before headers, in-band after). */
export function turnFailure(event: Extract<CodexEvent, { type: 'turn.completed' }>): TurnFailedError {
  return new TurnFailedError(event.error ?? { message: 'the turn failed' });
}

/**
 * Turns normalized events into `chat.completion.chunk`s: one id/created/model throughout, the role
 * first (sent with the first content so an early failure can still get an HTTP status), content deltas
 * as codex streams them, a final chunk with `finish_reason`, then the usage chunk when asked for.
 */
export class ChatChunkMapper {
  private started = false;
  private usage: TokenUsage | null = null;
  private lastMessageItem: string | null = null;
  private toolCalls = 0;
  /** With a format, the last agent message (sent once checked, at the end). */
  private answer = '';
  private sawText = false;
  private readonly stripper: AnswerTagStripper | null;

  constructor(private readonly ctx: ChunkContext) {
    this.stripper = ctx.stripAnswerTags ? new AnswerTagStripper() : null;
  }

  map(event: TurnEvent): Chunk[] {
    switch (event.type) {
      case 'tool.call':
        // Each call whole in one delta (id, name and all its arguments): what OpenAI's clients assemble.
        return this.withRole({ tool_calls: [{ index: this.toolCalls++, ...toolCall(event) }] });
      case 'turn.suspended': {
        const held = this.stripper?.flush() ?? '';
        const out = this.withRole(held ? { content: held } : {});
        out.push(this.chunk({}, 'tool_calls'));
        if (this.ctx.includeUsage) out.push({ ...this.base(), choices: [], usage: toChatUsage(this.usage) });
        return out;
      }
      case 'item.delta': {
        if (event.kind === 'text' && this.formatted) return this.withRole({});
        if (event.kind === 'text') {
          // Separate consecutive agent messages (a preamble, then the answer after a command).
          const prefix = this.sawText && this.lastMessageItem !== event.itemId ? '\n\n' : '';
          this.lastMessageItem = event.itemId;
          this.sawText = true;
          const content = this.stripper ? this.stripper.push(prefix + event.delta) : prefix + event.delta;
          return content ? this.withRole({ content }) : this.withRole({});
        }
        if (event.kind === 'reasoning' && this.ctx.codexEvents)
          return this.withRole({ reasoning_content: event.delta });
        return [];
      }
      case 'item.completed': {
        if (event.item.type === 'agentMessage') this.answer = event.item.text;
        if (!this.ctx.codexEvents) return [];
        if (
          event.item.type !== 'commandExecution' &&
          event.item.type !== 'fileChange' &&
          event.item.type !== 'toolCall'
        )
          return [];
        return this.withRole({}, { codex_event: { type: 'item.completed', item: event.item } });
      }
      case 'approval.requested':
      case 'approval.resolved':
        // Extension: an approval codex waits on (answer it at POST /api/approvals/{id}), and its decision.
        return this.ctx.codexEvents ? this.withRole({}, { codex_event: event }) : [];
      case 'usage':
        this.usage = event.usage;
        return [];
      case 'turn.completed': {
        if (event.status === 'failed') throw turnFailure(event);
        if (this.formatted && event.status === 'completed') {
          const { content, call } = formattedAnswer(this.ctx, this.answer);
          const out = this.withRole(call ? { tool_calls: [{ index: 0, ...call }] } : { content });
          out.push(this.chunk({}, call ? 'tool_calls' : 'stop'));
          if (this.ctx.includeUsage) out.push({ ...this.base(), choices: [], usage: toChatUsage(this.usage) });
          return out;
        }
        const held = this.stripper?.flush() ?? '';
        const out = this.withRole(held ? { content: held } : {}); // the role chunk, if nothing was streamed before
        out.push(this.chunk({}, 'stop'));
        if (this.ctx.includeUsage) out.push({ ...this.base(), choices: [], usage: toChatUsage(this.usage) });
        return out;
      }
      default:
        return [];
    }
  }

  private get formatted(): boolean {
    return Boolean(this.ctx.format || this.ctx.forced);
  }

  private withRole(delta: Record<string, unknown>, extra: Record<string, unknown> = {}): Chunk[] {
    const out: Chunk[] = [];
    if (!this.started) {
      this.started = true;
      out.push(this.chunk({ role: 'assistant', content: '' }, null));
    }
    if (Object.keys(delta).length > 0 || Object.keys(extra).length > 0)
      out.push({ ...this.chunk(delta, null), ...extra });
    return out;
  }

  private base() {
    return { id: this.ctx.id, object: 'chat.completion.chunk', created: this.ctx.created, model: this.ctx.model };
  }

  private chunk(delta: Record<string, unknown>, finish: string | null): Chunk {
    return { ...this.base(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
  }
}

/** A client tool call as a Chat Completions `tool_calls` entry. */
function toolCall(event: { callId: string; name: string; arguments: string }) {
  return { id: event.callId, type: 'function', function: { name: event.name, arguments: event.arguments } };
}

/** Folds a whole turn (or its part up to the client's tool calls) into a `chat.completion` object. */
export function toChatCompletion(ctx: ChunkContext, events: TurnEvent[], threadId: string): Record<string, unknown> {
  const texts: string[] = [];
  const calls: Array<ReturnType<typeof toolCall>> = [];
  let suspended = false;
  const reasoning: string[] = [];
  const activity: unknown[] = [];
  let usage: TokenUsage | null = null;
  for (const event of events) {
    if (event.type === 'item.completed') {
      if (event.item.type === 'agentMessage' && event.item.text) texts.push(event.item.text);
      else if (event.item.type === 'reasoning' && event.item.text) reasoning.push(event.item.text);
      else if (
        event.item.type === 'commandExecution' ||
        event.item.type === 'fileChange' ||
        event.item.type === 'toolCall'
      ) {
        activity.push(event.item);
      }
    } else if (event.type === 'usage') {
      usage = event.usage;
    } else if (event.type === 'tool.call') {
      calls.push(toolCall(event));
    } else if (event.type === 'turn.suspended') {
      suspended = true;
    } else if (event.type === 'turn.completed' && event.status === 'failed') {
      throw turnFailure(event);
    }
  }
  let content: string | null = texts.join('\n\n');
  if ((ctx.format || ctx.forced) && !suspended) {
    const answer = formattedAnswer(ctx, texts.at(-1) ?? '');
    content = answer.content;
    if (answer.call) {
      calls.push(answer.call);
      suspended = true; // answered as a call: finish_reason tool_calls
    }
  } else if (ctx.stripAnswerTags) content = stripAnswerTags(content);
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: suspended && !content ? null : content,
    refusal: null,
  };
  if (calls.length > 0) message.tool_calls = calls;
  if (ctx.codexEvents && reasoning.length > 0) message.reasoning_content = reasoning.join('\n\n');
  const completion: Record<string, unknown> = {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: suspended ? 'tool_calls' : 'stop' }],
    usage: toChatUsage(usage),
  };
  if (ctx.codexEvents) completion.codex = { thread_id: threadId, items: activity };
  return completion;
}
