import type { CodexEvent, TokenUsage } from '@app/codex-transport';
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
  private sawText = false;
  private readonly stripper: AnswerTagStripper | null;

  constructor(private readonly ctx: ChunkContext) {
    this.stripper = ctx.stripAnswerTags ? new AnswerTagStripper() : null;
  }

  map(event: CodexEvent): Chunk[] {
    switch (event.type) {
      case 'item.delta': {
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

/** Folds a whole turn into a `chat.completion` object. */
export function toChatCompletion(ctx: ChunkContext, events: CodexEvent[], threadId: string): Record<string, unknown> {
  const texts: string[] = [];
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
    } else if (event.type === 'turn.completed' && event.status === 'failed') {
      throw turnFailure(event);
    }
  }
  const content = texts.join('\n\n');
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: ctx.stripAnswerTags ? stripAnswerTags(content) : content,
    refusal: null,
  };
  if (ctx.codexEvents && reasoning.length > 0) message.reasoning_content = reasoning.join('\n\n');
  const completion: Record<string, unknown> = {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }],
    usage: toChatUsage(usage),
  };
  if (ctx.codexEvents) completion.codex = { thread_id: threadId, items: activity };
  return completion;
}
