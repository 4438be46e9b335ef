import type { Subscriber } from 'rxjs';
import { providerErrorMessage, providerFailure } from '../provider-error';
import { type CodexEvent, type TokenUsage, type TurnError, type TurnStatus, EMPTY_USAGE, addUsage } from '../events';
import { mapThreadItem, mapTokenUsage, strOrNull } from './item.mapper';

type Params = Record<string, unknown>;

/** A client tool call codex waits on: how to answer it, and when it is answered for the client. */
export interface PendingToolCall {
  respond: (result: { contentItems: Array<{ type: 'inputText'; text: string }>; success: boolean }) => void;
  timer: NodeJS.Timeout;
}

/**
 * The gateway's side of one running turn: turns app-server notifications for its thread into
 * normalized events for its subscriber, adds up usage over every model request, and ends exactly once.
 * After the subscriber leaves, the run lives on (state `ending`) until codex confirms the turn ended.
 */
export class TurnRun {
  turnId: string | null = null;
  state: 'starting' | 'running' | 'ending' | 'done' = 'starting';
  private usage: TokenUsage = EMPTY_USAGE;
  private sawUsage = false;
  private readonly openItems = new Map<string, Params>();
  private resolveDone!: () => void;
  /** Settles when codex reports the turn over (or its process is gone). */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  private resolveStarted!: () => void;
  /** Settles when codex has given the turn its id, or when the run ends without one. */
  readonly started = new Promise<void>((resolve) => (this.resolveStarted = resolve));
  readonly timers: NodeJS.Timeout[] = [];
  /** Armed while codex retries a provider it cannot reach. */
  providerWatch: NodeJS.Timeout | null = null;
  /** A new turn is already waiting for this one to wind down. */
  successorClaimed = false;
  /** Client tool calls codex waits on, by call id. */
  readonly toolCalls = new Map<string, PendingToolCall>();

  constructor(
    readonly threadId: string,
    private subscriber: Subscriber<CodexEvent> | null,
  ) {}

  get detached(): boolean {
    return this.subscriber === null;
  }

  /** Forwards an event to the subscriber, if one is still listening. */
  emit(event: CodexEvent): void {
    this.subscriber?.next(event);
  }

  setTurnId(turnId: string): void {
    this.turnId = turnId;
    if (this.state === 'starting') this.state = 'running';
    this.resolveStarted();
  }

  /**
   * The subscriber left (or is ended by the gateway: `complete`); the turn still has to wind down in
   * codex, which settles `done` later.
   */
  detach(complete = false): void {
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (complete) subscriber?.complete();
    if (this.state !== 'done') this.state = 'ending';
  }

  handleNotification(method: string, params: Params): void {
    const turnId = this.turnId ?? stringField(params, 'turnId') ?? '';
    const scope = { threadId: this.threadId, turnId };
    switch (method) {
      case 'turn/started': {
        const id = stringField(params.turn as Params, 'id');
        if (id) this.setTurnId(id);
        this.emit({ type: 'turn.started', threadId: this.threadId, turnId: this.turnId ?? '' });
        return;
      }
      case 'item/started': {
        const raw = params.item as Params;
        const id = stringField(raw, 'id');
        if (id) this.openItems.set(id, raw);
        this.emit({ type: 'item.started', ...scope, item: mapThreadItem(raw ?? {}) });
        return;
      }
      case 'item/completed': {
        const raw = params.item as Params;
        const id = stringField(raw, 'id');
        if (id) this.openItems.delete(id);
        this.emit({ type: 'item.completed', ...scope, item: mapThreadItem(raw ?? {}) });
        return;
      }
      case 'item/agentMessage/delta':
        return this.delta(scope, params, 'text');
      case 'item/reasoning/summaryTextDelta':
      case 'item/reasoning/textDelta':
        return this.delta(scope, params, 'reasoning');
      case 'item/commandExecution/outputDelta':
        return this.delta(scope, params, 'output');
      case 'thread/tokenUsage/updated': {
        const usage = (params.tokenUsage as Params | undefined)?.last;
        this.usage = addUsage(this.usage, mapTokenUsage(usage));
        this.sawUsage = true;
        return;
      }
      case 'warning':
        this.emit({
          type: 'warning',
          threadId: this.threadId,
          message: providerErrorMessage(stringField(params, 'message') ?? ''),
        });
        return;
      case 'error': {
        const error = (params.error ?? {}) as Params;
        this.emit({
          type: 'error',
          threadId: this.threadId,
          turnId,
          message: providerErrorMessage(stringField(error, 'message') ?? 'codex reported an error'),
          willRetry: params.willRetry === true,
        });
        return;
      }
      case 'turn/completed': {
        const turn = (params.turn ?? {}) as Params;
        const status = turn.status === 'interrupted' || turn.status === 'failed' ? turn.status : 'completed';
        const rawError = turn.error as Params | null | undefined;
        const error: TurnError | null =
          status === 'failed'
            ? providerFailure(stringField(rawError, 'message') ?? 'the turn failed', rawError?.codexErrorInfo)
            : null;
        this.finish(status, error);
        return;
      }
      default:
        return;
    }
  }

  /**
   * Ends the run: closes items codex left open (interrupted streams never get `item/completed`),
   * emits the turn's usage then `turn.completed`, and completes the stream.
   */
  finish(status: TurnStatus, error: TurnError | null): void {
    if (this.state === 'done') return;
    const turnId = this.turnId ?? '';
    for (const raw of this.openItems.values()) {
      const item = mapThreadItem(raw);
      if (item.type === 'commandExecution' && item.status === 'inProgress') item.status = 'failed';
      this.emit({ type: 'item.completed', threadId: this.threadId, turnId, item });
    }
    this.openItems.clear();
    if (this.sawUsage || status === 'completed') {
      this.emit({ type: 'usage', threadId: this.threadId, turnId, usage: this.usage });
    }
    this.emit({ type: 'turn.completed', threadId: this.threadId, turnId, status, error });
    this.state = 'done';
    for (const timer of this.timers) clearTimeout(timer);
    this.subscriber?.complete();
    this.subscriber = null;
    this.resolveStarted();
    this.resolveDone();
  }

  /** Ends the run with an error instead of events (the turn never started). */
  fail(error: Error): void {
    if (this.state === 'done') return;
    this.state = 'done';
    for (const timer of this.timers) clearTimeout(timer);
    this.subscriber?.error(error);
    this.subscriber = null;
    this.resolveStarted();
    this.resolveDone();
  }

  private delta(scope: { threadId: string; turnId: string }, params: Params, kind: 'text' | 'reasoning' | 'output') {
    const delta = params.delta;
    if (typeof delta !== 'string' || delta.length === 0) return;
    this.emit({ type: 'item.delta', ...scope, itemId: stringField(params, 'itemId') ?? '', kind, delta });
  }
}

function stringField(obj: Params | undefined | null, key: string): string | null {
  return strOrNull(obj?.[key]);
}
