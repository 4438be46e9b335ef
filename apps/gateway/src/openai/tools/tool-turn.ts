import { Observable, type Subscriber, type Subscription } from 'rxjs';
import type { CodexEvent } from '@app/codex-transport';
import { conflict } from '../../common/errors/gateway-error';

/** The turn waits on the client's tool calls: the HTTP response ends here; the codex turn stays open. */
export interface TurnSuspended {
  type: 'turn.suspended';
  threadId: string;
  turnId: string;
  /** The calls codex waits on, in the order the model made them. */
  callIds: string[];
}

/** What an OpenAI response is written from: the turn's events, and where it stopped for the client's tools. */
export type TurnEvent = CodexEvent | TurnSuspended;

type ToolCallEvent = Extract<CodexEvent, { type: 'tool.call' }>;

/**
 * Calls the model makes in one response reach the gateway one by one, as codex dispatches them (codex
 * 0.171 sends no signal that a response has no more): the HTTP response waits this long after the last
 * call (or any other event) before it ends with the calls gathered so far. A call that comes later is not
 * lost: it is the first thing the next request on the turn gets.
 */
export const TOOL_CALL_GATHER_MS = 100;

/** Events kept for a turn nobody reads (it goes on after a call timed out); the oldest are dropped beyond. */
const MAX_UNREAD = 2000;

export interface ToolTurnHooks {
  /** codex waits on a new call of this turn. */
  onCall(call: ToolCallEvent): void;
  /** A call is answered (by the client, or by its timeout). */
  onSettled(callId: string): void;
  /** The turn is over. */
  onEnd(): void;
}

/**
 * One codex turn that may outlive the HTTP response that started it: a turn with client tools stops at
 * the tool calls the model makes (the response ends the way OpenAI's does, with those calls), keeps
 * running in codex while it waits for their results, and the request that brings them reads the same
 * turn on from there. One reader at a time; a reader that leaves while the turn runs (not when it waits
 * on the client) interrupts it, as on every other path.
 */
export class ToolTurn {
  /** Calls codex waits on, by id. */
  readonly pending = new Map<string, ToolCallEvent>();
  private readonly unread: TurnEvent[] = [];
  private reader: Subscriber<TurnEvent> | null = null;
  private source: Subscription | null = null;
  private gather: NodeJS.Timeout | null = null;
  private failure: unknown = null;
  private ended = false;
  threadId = '';
  turnId = '';

  constructor(
    private readonly turn$: Observable<CodexEvent>,
    private readonly hooks: ToolTurnHooks,
  ) {}

  get isOver(): boolean {
    return this.ended;
  }

  /**
   * The turn's events for one response: those not read yet, then live ones, until the turn ends or waits
   * on client calls (then a `turn.suspended` comes last). The first reader starts the turn.
   */
  events(): Observable<TurnEvent> {
    return new Observable<TurnEvent>((subscriber) => {
      if (this.reader) {
        subscriber.error(conflict('a response is already reading this turn'));
        return;
      }
      this.reader = subscriber;
      for (const event of this.unread.splice(0)) subscriber.next(event);
      if (this.failure !== null) subscriber.error(this.failure);
      else if (this.ended) subscriber.complete();
      else if (!this.source) {
        this.source = this.turn$.subscribe({
          next: (event) => this.onEvent(event),
          error: (error: unknown) => this.onError(error),
          complete: () => this.onComplete(),
        });
      } else this.armGather();
      return () => {
        if (this.reader !== subscriber) return;
        this.reader = null;
        this.disarmGather();
        // The client left while codex was working for it (not waiting on it): stop the turn.
        if (!this.ended && this.pending.size === 0) this.source?.unsubscribe();
      };
    });
  }

  private onEvent(event: CodexEvent): void {
    if ('turnId' in event && event.turnId) this.turnId = event.turnId;
    if (event.threadId) this.threadId = event.threadId;
    if (event.type === 'tool.call') {
      this.pending.set(event.callId, event);
      this.hooks.onCall(event);
    } else if (event.type === 'tool.resolved') {
      this.pending.delete(event.callId);
      this.hooks.onSettled(event.callId);
    }
    this.deliver(event);
    this.armGather();
  }

  private deliver(event: TurnEvent): void {
    if (this.reader) {
      this.reader.next(event);
      return;
    }
    this.unread.push(event);
    if (this.unread.length > MAX_UNREAD) this.unread.shift();
  }

  /** While calls wait and a reader is there, end its response once no event has come for a moment. */
  private armGather(): void {
    this.disarmGather();
    if (!this.reader || this.pending.size === 0 || this.ended) return;
    this.gather = setTimeout(() => this.suspend(), TOOL_CALL_GATHER_MS);
  }

  private disarmGather(): void {
    if (this.gather) clearTimeout(this.gather);
    this.gather = null;
  }

  private suspend(): void {
    const reader = this.reader;
    if (!reader || this.pending.size === 0) return;
    this.reader = null;
    reader.next({
      type: 'turn.suspended',
      threadId: this.threadId,
      turnId: this.turnId,
      callIds: [...this.pending.keys()],
    });
    reader.complete();
  }

  private onError(error: unknown): void {
    this.finish();
    if (this.reader) this.reader.error(error);
    else this.failure = error;
  }

  private onComplete(): void {
    this.finish();
    this.reader?.complete();
  }

  private finish(): void {
    this.ended = true;
    this.disarmGather();
    for (const callId of this.pending.keys()) this.hooks.onSettled(callId);
    this.pending.clear();
    this.hooks.onEnd();
  }
}
