import { type ApprovalRequest, type CodexItem, EMPTY_USAGE, type TokenUsage } from '@app/codex-transport';
import type { TurnEvent } from '../tools/tool-turn';
import { approvalItem, codexItem, outputId } from './response-items.mapper';
import {
  type CodexOutputItem,
  type FunctionCallOutputItem,
  type ItemStatus,
  type MessageOutputItem,
  type OutputItem,
  type OutputText,
  type ReasoningOutputItem,
  type ResponseObject,
  type ResponseStreamEvent,
  type RunOutcome,
  toResponseUsage,
} from './response-object';

interface OpenItem {
  index: number;
  kind: 'message' | 'reasoning' | 'codex';
  /** Reasoning: whether the summary part was announced. */
  partOpen: boolean;
}

/**
 * Builds one Response from a codex turn's normalized events, and the OpenAI stream events that say so:
 * `response.created`, `response.in_progress`, then per item `output_item.added` (+ `content_part.added`,
 * `output_text.delta`…, `output_text.done`, `content_part.done` for messages; reasoning summary events for
 * reasoning), `output_item.done`, and one terminal event. `sequence_number` counts from 0.
 */
export class ResponseBuilder {
  private sequence = 0;
  private readonly open = new Map<string, OpenItem>();
  /** Codex items already reported done (late deltas for them are dropped). */
  private readonly closed = new Set<string>();
  private usage: TokenUsage | null = null;

  constructor(readonly response: ResponseObject) {}

  /** `response.created` and `response.in_progress`. */
  start(): ResponseStreamEvent[] {
    return [
      this.event('response.created', { response: this.snapshot() }),
      this.event('response.in_progress', { response: this.snapshot() }),
    ];
  }

  /**
   * Whether agent messages are output items. Off when the answer stands for a function call (a forced
   * `tool_choice`): the messages are kept out of the output and {@link functionCall} adds the call.
   */
  messagesShown = true;
  /** The text of the turn's last agent message (its final answer). */
  lastAnswer = '';
  private lastAnswerIndex: number | null = null;

  map(event: TurnEvent): ResponseStreamEvent[] {
    if (event.type === 'tool.call') return this.functionCall(event.callId, event.name, event.arguments);
    if (event.type === 'turn.suspended') return [];
    if (event.type === 'item.completed' && event.item.type === 'agentMessage') this.lastAnswer = event.item.text;
    if (!this.messagesShown && (event.type === 'item.started' || event.type === 'item.completed')) {
      if (event.item.type === 'agentMessage') return [];
    }
    if (!this.messagesShown && event.type === 'item.delta' && event.kind === 'text') return [];
    switch (event.type) {
      case 'item.started':
        return this.itemStarted(event.item);
      case 'item.delta':
        return this.itemDelta(event.itemId, event.kind, event.delta);
      case 'item.completed':
        return this.itemCompleted(event.item);
      case 'usage':
        this.usage = event.usage;
        return [];
      case 'approval.requested':
        return this.approvalRequested(event.approval);
      case 'approval.resolved':
        return this.approvalResolved(event.approvalId, event.decision, event.reason);
      default:
        return [];
    }
  }

  /**
   * A call of a client function as OpenAI streams one: `output_item.added` (arguments empty), the arguments
   * (one delta, then done), `output_item.done`.
   */
  functionCall(callId: string, name: string, args: string): ResponseStreamEvent[] {
    const item: FunctionCallOutputItem = {
      id: outputId('fc', callId),
      type: 'function_call',
      status: 'in_progress',
      call_id: callId,
      name,
      arguments: '',
    };
    const index = this.response.output.push(item) - 1;
    const added = this.event('response.output_item.added', { output_index: index, item: { ...item } });
    item.arguments = args;
    item.status = 'completed';
    return [
      added,
      this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: args }),
      this.event('response.function_call_arguments.done', {
        item_id: item.id,
        output_index: index,
        name,
        arguments: args,
      }),
      this.event('response.output_item.done', { output_index: index, item: { ...item } }),
    ];
  }

  /** The final answer's text in the Response object, when checking it changed it (nulls of optional fields dropped). */
  replaceLastAnswer(text: string): void {
    const index = this.lastAnswerIndex;
    const item = index === null ? null : this.response.output[index];
    if (item?.type === 'message' && item.content[0]) item.content[0].text = text;
    this.lastAnswer = text;
  }

  /**
   * An approval codex waits on, as a `codex_approval_request` output item: open while it waits (answer it
   * at `POST /api/approvals/{id}`), done with the decision.
   */
  private approvalRequested(approval: ApprovalRequest): ResponseStreamEvent[] {
    if (this.open.has(approval.id) || this.closed.has(approval.id)) return [];
    const item = approvalItem(approval);
    const index = this.response.output.push(item) - 1;
    this.open.set(approval.id, { index, kind: 'codex', partOpen: false });
    return [this.event('response.output_item.added', { output_index: index, item: structuredClone(item) })];
  }

  private approvalResolved(approvalId: string, decision: string, reason: string): ResponseStreamEvent[] {
    const open = this.open.get(approvalId);
    if (!open) return [];
    const item = this.response.output[open.index] as CodexOutputItem;
    item.decision = decision;
    item.resolution = reason;
    this.open.delete(approvalId);
    this.closed.add(approvalId);
    return this.closeItem(open, item, 'completed');
  }

  /** Closes items left open and emits the terminal event for `outcome`. */
  finish(outcome: RunOutcome): ResponseStreamEvent[] {
    const events: ResponseStreamEvent[] = [];
    for (const open of this.open.values()) {
      events.push(...this.closeItem(open, this.response.output[open.index], 'incomplete'));
    }
    this.open.clear();
    const r = this.response;
    r.status = outcome.status;
    r.completed_at = outcome.status === 'completed' ? Math.floor(Date.now() / 1000) : null;
    r.error = outcome.error ?? null;
    r.incomplete_details = outcome.incompleteReason ? { reason: outcome.incompleteReason } : null;
    // A response that ends at the client's tool calls has no usage yet: codex reports the model requests of a
    // turn once the calls are answered, and the response that goes on with the turn carries them.
    r.usage = this.usage
      ? toResponseUsage(this.usage)
      : outcome.status === 'completed'
        ? toResponseUsage(EMPTY_USAGE)
        : r.usage;
    const type =
      outcome.status === 'completed'
        ? 'response.completed'
        : outcome.status === 'failed'
          ? 'response.failed'
          : outcome.status === 'incomplete'
            ? 'response.incomplete'
            : 'response.cancelled';
    events.push(this.event(type, { response: this.snapshot() }));
    return events;
  }

  /** A deep copy of the response as it stands. */
  snapshot(): ResponseObject {
    return structuredClone(this.response);
  }

  private itemStarted(item: CodexItem): ResponseStreamEvent[] {
    if (item.type === 'userMessage' || this.open.has(item.id) || this.closed.has(item.id)) return [];
    if (item.type === 'agentMessage') return this.openMessage(item.id);
    if (item.type === 'reasoning') return this.openReasoning(item.id);
    const mapped = codexItem(item, 'in_progress');
    if (!mapped) return [];
    mapped.status = 'in_progress';
    const index = this.response.output.push(mapped) - 1;
    this.open.set(item.id, { index, kind: 'codex', partOpen: false });
    return [this.event('response.output_item.added', { output_index: index, item: structuredClone(mapped) })];
  }

  private openMessage(codexId: string): ResponseStreamEvent[] {
    const item: MessageOutputItem = {
      id: outputId('msg', codexId),
      type: 'message',
      role: 'assistant',
      status: 'in_progress',
      content: [],
    };
    const index = this.response.output.push(item) - 1;
    this.open.set(codexId, { index, kind: 'message', partOpen: true });
    const part: OutputText = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    item.content.push(part);
    return [
      this.event('response.output_item.added', { output_index: index, item: { ...item, content: [] } }),
      this.event('response.content_part.added', {
        item_id: item.id,
        output_index: index,
        content_index: 0,
        part: { ...part },
      }),
    ];
  }

  private openReasoning(codexId: string): ResponseStreamEvent[] {
    const item: ReasoningOutputItem = {
      id: outputId('rs', codexId),
      type: 'reasoning',
      status: 'in_progress',
      summary: [],
    };
    const index = this.response.output.push(item) - 1;
    this.open.set(codexId, { index, kind: 'reasoning', partOpen: false });
    return [this.event('response.output_item.added', { output_index: index, item: structuredClone(item) })];
  }

  private itemDelta(codexId: string, kind: 'text' | 'reasoning' | 'output', delta: string): ResponseStreamEvent[] {
    if (kind === 'output' || delta === '' || this.closed.has(codexId)) return [];
    const events: ResponseStreamEvent[] = [];
    if (!this.open.has(codexId))
      events.push(...(kind === 'text' ? this.openMessage(codexId) : this.openReasoning(codexId)));
    const open = this.open.get(codexId)!;
    const item = this.response.output[open.index];
    if (item.type === 'message') {
      item.content[0].text += delta;
      events.push(
        this.event('response.output_text.delta', {
          item_id: item.id,
          output_index: open.index,
          content_index: 0,
          delta,
          logprobs: [],
        }),
      );
    } else if (item.type === 'reasoning') {
      events.push(...this.reasoningDelta(open, item, delta));
    }
    return events;
  }

  private reasoningDelta(open: OpenItem, item: ReasoningOutputItem, delta: string): ResponseStreamEvent[] {
    const events: ResponseStreamEvent[] = [];
    if (!open.partOpen) {
      open.partOpen = true;
      item.summary.push({ type: 'summary_text', text: '' });
      events.push(
        this.event('response.reasoning_summary_part.added', {
          item_id: item.id,
          output_index: open.index,
          summary_index: 0,
          part: { type: 'summary_text', text: '' },
        }),
      );
    }
    item.summary[0].text += delta;
    events.push(
      this.event('response.reasoning_summary_text.delta', {
        item_id: item.id,
        output_index: open.index,
        summary_index: 0,
        delta,
      }),
    );
    return events;
  }

  private itemCompleted(item: CodexItem): ResponseStreamEvent[] {
    if (item.type === 'userMessage' || this.closed.has(item.id)) return [];
    const events: ResponseStreamEvent[] = [];
    if (!this.open.has(item.id)) events.push(...this.itemStarted(item));
    const open = this.open.get(item.id);
    if (!open) return events;
    const current = this.response.output[open.index];
    // Codex's final text is authoritative; stream whatever the deltas did not carry.
    if (item.type === 'agentMessage' && current.type === 'message') {
      this.lastAnswerIndex = open.index;
      const streamed = current.content[0].text;
      if (item.text.startsWith(streamed) && item.text.length > streamed.length) {
        events.push(...this.itemDelta(item.id, 'text', item.text.slice(streamed.length)));
      }
      current.content[0].text = item.text;
    } else if (item.type === 'reasoning' && current.type === 'reasoning') {
      const streamed = current.summary[0]?.text ?? '';
      if (item.text.startsWith(streamed) && item.text.length > streamed.length) {
        events.push(...this.itemDelta(item.id, 'reasoning', item.text.slice(streamed.length)));
      }
      if (current.summary[0]) current.summary[0].text = item.text;
    } else if (open.kind === 'codex') {
      const mapped = codexItem(item, 'completed');
      if (mapped) this.response.output[open.index] = mapped;
    }
    this.open.delete(item.id);
    this.closed.add(item.id);
    const closing = this.response.output[open.index];
    const failed = closing.type.startsWith('codex_') && closing.status === 'failed';
    events.push(...this.closeItem(open, closing, failed ? 'failed' : 'completed'));
    return events;
  }

  private closeItem(open: OpenItem, item: OutputItem, status: ItemStatus): ResponseStreamEvent[] {
    const events: ResponseStreamEvent[] = [];
    item.status = status;
    if (item.type === 'message') {
      const part = item.content[0];
      events.push(
        this.event('response.output_text.done', {
          item_id: item.id,
          output_index: open.index,
          content_index: 0,
          text: part.text,
          logprobs: [],
        }),
        this.event('response.content_part.done', {
          item_id: item.id,
          output_index: open.index,
          content_index: 0,
          part: { ...part },
        }),
      );
    } else if (item.type === 'reasoning' && open.partOpen) {
      const part = item.summary[0];
      events.push(
        this.event('response.reasoning_summary_text.done', {
          item_id: item.id,
          output_index: open.index,
          summary_index: 0,
          text: part.text,
        }),
        this.event('response.reasoning_summary_part.done', {
          item_id: item.id,
          output_index: open.index,
          summary_index: 0,
          part: { ...part },
        }),
      );
    }
    events.push(this.event('response.output_item.done', { output_index: open.index, item: structuredClone(item) }));
    return events;
  }

  private event(type: string, fields: Record<string, unknown>): ResponseStreamEvent {
    return { type, sequence_number: this.sequence++, ...fields };
  }
}
