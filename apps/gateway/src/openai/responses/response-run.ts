import { randomUUID } from 'node:crypto';
import { Observable, Subject, type Subscription } from 'rxjs';
import { CodexErrorCode, CodexTransportError, isCodexTransportError } from '@app/codex-transport';
import { describeFailure } from '../../common/errors/failure';
import { TurnFailedError } from '../../common/errors/gateway-error';
import type { ResponseBuilder } from './response-builder';
import { outcomeOf, type ResponseObject, type ResponseStreamEvent, type RunOutcome } from './response-object';
import type { ForcedCall, OutputFormat } from '../structured/output-format';
import type { ToolResultsPath } from '../tools/tool-results-path';
import type { TurnEvent } from '../tools/tool-turn';

/** What the final answer must be: in a format (`text.format`), or a forced function call. */
export interface AnswerRules {
  format: OutputFormat | null;
  forced: ForcedCall | null;
}

/** What the owner of a run hears from it. */
export interface RunHooks {
  /** codex started the turn and gave it this id. */
  turnStarted(turnId: string): void;
  /** The run ended; called once, before {@link ResponseRun.done} resolves. */
  finished(): void;
}

/**
 * One response's turn: the events it produced (kept, so a reader can replay them after a sequence number),
 * how it ended, and why a failed one failed. The creating client reads {@link stream}: leaving before the
 * end cancels the run, unless the response runs in the background.
 */
export class ResponseRun {
  /** How a request carrying tool results was served; null without results. */
  toolResults: ToolResultsPath | null = null;
  private readonly log: ResponseStreamEvent[] = [];
  private readonly updates = new Subject<ResponseStreamEvent>();
  private subscription: Subscription | null = null;
  private cancelRequested = false;
  private ended = false;
  private turn: string | null = null;
  private error: Error | null = null;
  private resolveDone!: (response: ResponseObject) => void;
  /** The Response once the run has ended. */
  readonly done = new Promise<ResponseObject>((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly builder: ResponseBuilder,
    readonly background: boolean,
    private readonly hooks: RunHooks,
    private readonly answer: AnswerRules = { format: null, forced: null },
  ) {
    builder.messagesShown = answer.forced === null;
    this.emit(builder.start());
  }

  get id(): string {
    return this.builder.response.id;
  }

  get finished(): boolean {
    return this.ended;
  }

  get turnId(): string | null {
    return this.turn;
  }

  /** Why a failed run failed: the error status of an answer that waited for it. */
  get failure(): Error | null {
    return this.error;
  }

  /** A copy of the Response as it stands. */
  snapshot(): ResponseObject {
    return this.builder.snapshot();
  }

  /** Every event so far. */
  events(): ResponseStreamEvent[] {
    return [...this.log];
  }

  /**
   * Runs the turn. Rejects when codex refuses it before it begins (thread busy, too many turns, shutting
   * down); later failures end the run as `failed`.
   */
  start(turn$: Observable<TurnEvent>): Promise<void> {
    let starting = true;
    let refused: { error: unknown } | null = null;
    let outcome: RunOutcome | null = null;
    this.subscription = turn$.subscribe({
      next: (event) => {
        if (event.type === 'turn.started') {
          this.turn = event.turnId;
          this.hooks.turnStarted(event.turnId);
        }
        if (event.type === 'turn.suspended') {
          // The model called the client's functions: this response is complete; the turn waits for the results.
          outcome = { status: 'completed' };
          return;
        }
        if (event.type === 'turn.completed') {
          outcome = outcomeOf(event, this.cancelRequested);
          if (event.status === 'failed' && event.error) this.error = new TurnFailedError(event.error);
          if (outcome.status === 'completed') outcome = this.checkAnswer();
          return;
        }
        this.emit(this.builder.map(event));
      },
      error: (error: unknown) => {
        if (starting) {
          refused = { error };
          return;
        }
        this.error = isCodexTransportError(error)
          ? error
          : new CodexTransportError(CodexErrorCode.RPC_ERROR, (error as Error)?.message ?? String(error));
        this.finish({
          status: 'failed',
          error: { code: 'server_error', message: describeFailure(this.error).message },
        });
      },
      complete: () => this.finish(outcome ?? { status: 'cancelled' }),
    });
    starting = false;
    if (refused === null) return Promise.resolve();
    this.ended = true;
    this.updates.complete();
    return Promise.reject((refused as { error: unknown }).error);
  }

  /** The events after `after` (a sequence number), then the live ones until the run ends; leaving stops nothing. */
  eventsAfter(after: number): Observable<ResponseStreamEvent> {
    return new Observable<ResponseStreamEvent>((subscriber) => {
      for (const event of this.log) if (event.sequence_number > after) subscriber.next(event);
      if (this.ended) {
        subscriber.complete();
        return;
      }
      return this.updates.subscribe(subscriber);
    });
  }

  /** The creating client's view: every event; a client that leaves before the end cancels a foreground run. */
  stream(): Observable<ResponseStreamEvent> {
    return new Observable<ResponseStreamEvent>((subscriber) => {
      const reading = this.eventsAfter(-1).subscribe(subscriber);
      return () => {
        reading.unsubscribe();
        if (!this.background) this.cancel();
      };
    });
  }

  /**
   * A turn with a format (`text.format`, a forced `tool_choice`) is complete only with an answer that has it:
   * one that does not fails the response; a forced call's answer becomes that function's call.
   */
  private checkAnswer(): RunOutcome {
    const format = this.answer.forced?.format ?? this.answer.format;
    if (!format) return { status: 'completed' };
    const checked = format.check(this.builder.lastAnswer);
    if (!checked.ok) {
      this.error = new TurnFailedError({ code: CodexErrorCode.OUTPUT_INVALID, message: checked.message });
      return { status: 'failed', error: { code: 'server_error', message: checked.message } };
    }
    if (this.answer.forced) {
      const call = this.answer.forced.call(checked.text);
      const callId = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
      this.emit(this.builder.functionCall(callId, call.name, call.arguments));
    } else if (checked.text !== this.builder.lastAnswer) this.builder.replaceLastAnswer(checked.text);
    return { status: 'completed' };
  }

  /** Interrupts the turn; the response ends as `cancelled`. */
  cancel(): void {
    if (this.ended) return;
    this.cancelRequested = true;
    // Unsubscribing interrupts the turn in codex (and recycles the process if it does not confirm).
    this.subscription?.unsubscribe();
    this.finish({ status: 'cancelled' });
  }

  private emit(events: ResponseStreamEvent[]): void {
    for (const event of events) {
      this.log.push(event);
      this.updates.next(event);
    }
  }

  private finish(outcome: RunOutcome): void {
    if (this.ended) return;
    this.emit(this.builder.finish(outcome));
    this.ended = true;
    this.updates.complete();
    this.hooks.finished();
    this.resolveDone(this.builder.snapshot());
  }
}
