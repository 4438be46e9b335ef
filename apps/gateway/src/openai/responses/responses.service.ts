import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Observable, Subject, type Subscription } from 'rxjs';
import {
  AppServerTransport,
  type CodexEvent,
  CodexErrorCode,
  CodexTransportError,
  isCodexTransportError,
  type TurnInput,
} from '@app/codex-transport';
import { BoundedMap } from '../../common/bounded-map';
import { describeFailure } from '../../common/errors/failure';
import { WorkspacePolicy } from '../../common/workspace/workspace-policy';
import { codexConfig } from '../../config/gateway.config';
import { renderMessages } from '../chat-completions.service';
import { MetricsService } from '../../metrics/metrics.service';
import { ModelsService } from '../models.service';
import type { CreateResponseDto } from './dto/create-response.dto';
import {
  outcomeOf,
  ResponseBuilder,
  type ResponseObject,
  type ResponseStreamEvent,
  type RunOutcome,
} from './response-builder';
import { asChatMessages, inputChars, normalizeInput } from './responses.input';
import { type InputItem, newResponseId, ResponsesStore, type StoredResponse } from './responses.store';
import { conflict, invalidRequest, notFound, promptTooLong } from '../../common/errors/gateway-error';

/** Stored response threads kept loaded per tenant; older ones are unloaded (a continuation resumes them). */
const MAX_LOADED_THREADS = 64;

/** Threads whose newest turn, and responses whose place, are remembered (older ones are looked up again). */
const MAX_REMEMBERED = 10_000;

/** Request fields echoed in the Response object as the client sent them. */
const ECHOED = [
  'temperature',
  'top_p',
  'max_output_tokens',
  'tools',
  'tool_choice',
  'text',
  'parallel_tool_calls',
  'truncation',
  'user',
] as const;
const ECHO_DEFAULTS: Record<(typeof ECHOED)[number], unknown> = {
  temperature: null,
  top_p: null,
  max_output_tokens: null,
  tools: [],
  tool_choice: 'auto',
  text: { format: { type: 'text' } },
  parallel_tool_calls: true,
  truncation: 'disabled',
  user: null,
};

/** A response whose turn is running (or just ended and is being written down). */
export class LiveResponse {
  readonly events: ResponseStreamEvent[] = [];
  readonly updates = new Subject<ResponseStreamEvent>();
  subscription: Subscription | null = null;
  cancelRequested = false;
  deleted = false;
  finished = false;
  /** Why a failed turn failed, in transport terms (the HTTP status of a non-streamed create). */
  failure: CodexTransportError | null = null;
  readonly done: Promise<ResponseObject>;
  resolveDone!: (response: ResponseObject) => void;
  /** Writes of this response's record, in order. */
  persisted: Promise<void> = Promise.resolve();

  constructor(
    readonly tenant: string,
    readonly builder: ResponseBuilder,
    readonly record: StoredResponse,
    readonly store: boolean,
    readonly background: boolean,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get id(): string {
    return this.builder.response.id;
  }

  /** The events after `after` (a sequence number), then the live ones until the response ends. */
  eventsAfter(after: number): Observable<ResponseStreamEvent> {
    return new Observable<ResponseStreamEvent>((subscriber) => {
      for (const event of this.events) if (event.sequence_number > after) subscriber.next(event);
      if (this.finished) {
        subscriber.complete();
        return;
      }
      return this.updates.subscribe(subscriber);
    });
  }
}

function responseNotFound(id: string) {
  return notFound(`Response with id '${id}' not found.`);
}

function checkMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  if (metadata === undefined || metadata === null) return {};
  const entries = Object.entries(metadata);
  if (entries.length > 16) throw invalidRequest('metadata may hold at most 16 pairs');
  for (const [key, value] of entries) {
    if (key.length > 64) throw invalidRequest(`metadata key '${key.slice(0, 64)}…' is longer than 64 characters`);
    if (typeof value !== 'string' || value.length > 512) {
      throw invalidRequest(`metadata.${key} must be a string of at most 512 characters`);
    }
  }
  return Object.fromEntries(entries);
}

/**
 * The Responses API on codex threads: a response is a turn. `previous_response_id` continues the thread
 * when it names the thread's newest turn and branches (a fork through that turn) otherwise, so two
 * continuations of one response never share a thread. Records live in {@link ResponsesStore}; the
 * conversation itself is codex's thread, so both survive a restart.
 */
@Injectable()
export class ResponsesService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ResponsesService');
  private readonly live = new Map<string, LiveResponse>();
  /** Threads a running response owns (`tenant\0threadId`): a continuation of their parent must branch. */
  private readonly claimed = new Set<string>();
  private readonly threadLocks = new Map<string, Promise<unknown>>();
  /**
   * The newest turn of each thread this process ran a response on (`tenant\0threadId` → turn id). Response
   * threads are not exposed by id, so only this service adds turns to them; after a restart codex is asked.
   */
  private readonly heads = new BoundedMap<string, string>(MAX_REMEMBERED);
  /**
   * Where the stored responses this process finished live in codex (`tenant\0responseId`), so continuing one
   * needs no read of its record; a deleted response is forgotten here first.
   */
  private readonly places = new BoundedMap<string, Pick<StoredResponse, 'threadId' | 'turnId'>>(MAX_REMEMBERED);
  /** Per tenant, the stored response threads left loaded in codex, least recently used first. */
  private readonly loadedThreads = new Map<string, Set<string>>();

  constructor(
    private readonly appServer: AppServerTransport,
    private readonly records: ResponsesStore,
    private readonly models: ModelsService,
    private readonly workspace: WorkspacePolicy,
    private readonly metrics: MetricsService,
    @Inject(codexConfig.KEY) private readonly codex: ConfigType<typeof codexConfig>,
  ) {}

  /** Validates the request, places it on a thread and starts its turn. Errors before the turn are thrown. */
  async create(tenant: string, dto: CreateResponseDto, requestId?: string): Promise<LiveResponse> {
    const input = normalizeInput(dto.input);
    const chars = inputChars(input, dto.instructions);
    if (chars > this.codex.maxPromptChars) throw promptTooLong(chars, this.codex.maxPromptChars, 'input');
    const metadata = checkMetadata(dto.metadata);
    const rendered = renderMessages(asChatMessages(input), 'input');
    rendered.images.forEach((url) => this.workspace.checkImageUrl(url));
    const developerMessage = [dto.instructions, rendered.instructions].filter(Boolean).join('\n\n') || undefined;
    const requested = dto.model ?? this.codex.model;
    const model = this.models.resolve(requested);
    const effort = dto.reasoning?.effort;
    const store = dto.store !== false;
    const previousId = dto.previous_response_id || null;

    const threadId = await this.placeOnThread(tenant, previousId, store, model);
    const response: ResponseObject = {
      id: newResponseId(),
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      completed_at: null,
      status: 'in_progress',
      background: dto.background === true,
      error: null,
      incomplete_details: null,
      instructions: dto.instructions ?? null,
      model: requested,
      output: [],
      previous_response_id: previousId,
      reasoning: { effort: effort ?? null, summary: dto.reasoning?.summary ?? null },
      store,
      usage: null,
      metadata,
      ...Object.fromEntries(ECHOED.map((k) => [k, dto[k] ?? ECHO_DEFAULTS[k]])),
    };
    const builder = new ResponseBuilder(response);
    const live = new LiveResponse(
      tenant,
      builder,
      { response, threadId, turnId: null, input },
      store,
      dto.background === true,
    );
    live.events.push(...builder.start());
    this.live.set(this.key(tenant, response.id), live);
    const turnInput: TurnInput[] = [
      { type: 'text', text: rendered.prompt },
      ...rendered.images.map((url) => ({ type: 'image' as const, url })),
    ];
    let outcome: RunOutcome | null = null;
    let startError: unknown = null;
    live.subscription = this.appServer
      .runTurn(tenant, { threadId, input: turnInput, model, effort, developerMessage })
      .pipe(this.metrics.observeTurn({ protocol: 'openai_responses', tenant, requestId }))
      .subscribe({
        next: (event: CodexEvent) => {
          if (event.type === 'turn.started') {
            live.record.turnId = event.turnId;
            this.heads.remember(this.key(tenant, threadId), event.turnId);
          }
          if (event.type === 'turn.completed') {
            outcome = outcomeOf(event, live.cancelRequested);
            if (event.status === 'failed' && event.error) {
              live.failure = new CodexTransportError(event.error.code as CodexErrorCode, event.error.message);
            }
            return;
          }
          this.emit(live, builder.map(event));
        },
        error: (error: unknown) => {
          if (!live.subscription) {
            startError = error;
            return;
          }
          live.failure = isCodexTransportError(error)
            ? error
            : new CodexTransportError(CodexErrorCode.RPC_ERROR, (error as Error)?.message ?? String(error));
          this.finish(live, {
            status: 'failed',
            error: { code: 'server_error', message: describeFailure(live.failure).message },
          });
        },
        complete: () => this.finish(live, outcome ?? { status: 'cancelled' }),
      });
    if (startError) {
      // Refused before it began (thread busy, too many turns, shutting down): an HTTP error, nothing kept.
      this.live.delete(this.key(tenant, response.id));
      this.claimed.delete(this.key(tenant, threadId));
      throw startError;
    }
    if (store) this.persist(live);
    return live;
  }

  /** The Response as it stands: live, stored, or 404 (unknown, deleted, `store:false`, another tenant's). */
  async retrieve(tenant: string, id: string): Promise<ResponseObject> {
    const live = this.live.get(this.key(tenant, id));
    if (live) {
      if (!live.store || live.deleted) throw responseNotFound(id);
      return live.builder.snapshot();
    }
    return (await this.stored(tenant, id)).response;
  }

  /** Events after `after` for a live or stored response. */
  async replay(tenant: string, id: string, after: number): Promise<Observable<ResponseStreamEvent>> {
    const live = this.live.get(this.key(tenant, id));
    if (live) {
      if (!live.store || live.deleted) throw responseNotFound(id);
      return live.eventsAfter(after);
    }
    const record = await this.stored(tenant, id);
    const events = (await this.records.events(tenant, id)) ?? [];
    return new Observable<ResponseStreamEvent>((subscriber) => {
      for (const event of events) if (event.sequence_number > after) subscriber.next(event);
      if (record.response.status === 'in_progress')
        subscriber.next({ type: 'response.failed', sequence_number: events.length, response: record.response });
      subscriber.complete();
    });
  }

  async inputItems(tenant: string, id: string): Promise<InputItem[]> {
    const live = this.live.get(this.key(tenant, id));
    if (live) {
      if (!live.store || live.deleted) throw responseNotFound(id);
      return live.record.input;
    }
    return (await this.stored(tenant, id)).input;
  }

  /** Interrupts a running response; it ends with `status: "cancelled"`. */
  async cancel(tenant: string, id: string): Promise<ResponseObject> {
    const live = this.live.get(this.key(tenant, id));
    if (!live || live.deleted) {
      const record = await this.stored(tenant, id);
      throw conflict(`Response '${id}' is ${record.response.status}; only a response in progress can be cancelled.`);
    }
    this.stop(live);
    return live.done;
  }

  /** Deletes the record (a running response is cancelled first). */
  async delete(tenant: string, id: string): Promise<{ id: string; object: 'response'; deleted: true }> {
    this.places.delete(this.key(tenant, id));
    const live = this.live.get(this.key(tenant, id));
    if (live && !live.deleted && live.store) {
      live.deleted = true;
      this.stop(live);
      await live.done;
      await live.persisted;
    } else if (live && !live.store) {
      throw responseNotFound(id);
    }
    const existed = await this.records.delete(tenant, id);
    if (!existed && !live) throw responseNotFound(id);
    return { id, object: 'response', deleted: true };
  }

  /** Stops a response because its client went away (not for background responses). */
  abandon(live: LiveResponse): void {
    if (!live.background) this.stop(live);
  }

  /** Running responses end as cancelled, and their records are written before the gateway exits. */
  async beforeApplicationShutdown(): Promise<void> {
    const running = [...this.live.values()];
    for (const live of running) this.stop(live);
    await Promise.all(running.map((live) => live.persisted));
  }

  private stop(live: LiveResponse): void {
    if (live.finished) return;
    live.cancelRequested = true;
    // Unsubscribing interrupts the turn in codex (and recycles the process if it does not confirm).
    live.subscription?.unsubscribe();
    this.finish(live, { status: 'cancelled' });
  }

  private emit(live: LiveResponse, events: ResponseStreamEvent[]): void {
    for (const event of events) {
      live.events.push(event);
      live.updates.next(event);
    }
  }

  private finish(live: LiveResponse, outcome: RunOutcome): void {
    if (live.finished) return;
    this.emit(live, live.builder.finish(outcome));
    live.finished = true;
    live.updates.complete();
    const key = this.key(live.tenant, live.id);
    this.claimed.delete(this.key(live.tenant, live.record.threadId));
    // An ephemeral (store:false) thread is done for good: unload it. A stored one stays loaded for the next
    // response of its chain (unloading and resuming it every time costs a thread/resume per response);
    // the tenant's idle codex process is stopped after IDLE_TIMEOUT_SECONDS anyway.
    if (!live.store) void this.appServer.releaseThread(live.tenant, live.record.threadId).catch(() => undefined);
    else this.keepLoaded(live.tenant, live.record.threadId);
    if (live.store && !live.deleted) {
      this.places.remember(key, { threadId: live.record.threadId, turnId: live.record.turnId });
      this.persist(live, true);
    }
    void live.persisted.finally(() => {
      if (this.live.get(key) === live) this.live.delete(key);
    });
    live.resolveDone(live.builder.snapshot());
  }

  private persist(live: LiveResponse, withEvents = false): void {
    const record: StoredResponse = { ...live.record, response: live.builder.snapshot() };
    const events = withEvents ? [...live.events] : null;
    live.persisted = live.persisted
      .then(async () => {
        if (live.deleted) return;
        if (events) await this.records.saveEvents(live.tenant, live.id, events);
        await this.records.save(live.tenant, record);
      })
      .catch((error: unknown) => this.logger.error(`could not store response ${live.id}: ${(error as Error).message}`));
  }

  private async stored(tenant: string, id: string): Promise<StoredResponse> {
    const record = await this.records.get(tenant, id);
    if (!record) throw responseNotFound(id);
    if (record.response.status === 'in_progress') {
      // Its run ended with a previous gateway process.
      record.response.status = 'failed';
      record.response.error = { code: 'server_error', message: 'the gateway stopped while this response was running' };
    }
    return record;
  }

  /**
   * The thread a new response runs on: a new one; the previous response's thread when that response is
   * its newest turn and nothing else runs there; otherwise a fork through the previous response's turn.
   * `store:false` work happens on an ephemeral thread or fork, so nothing of it stays on disk.
   */
  private async placeOnThread(
    tenant: string,
    previousId: string | null,
    store: boolean,
    model: string,
  ): Promise<string> {
    if (!previousId) {
      // The model goes with each turn; a stored conversation starts on the tenant's spare thread.
      const started = store
        ? await this.appServer.takeThread(tenant)
        : await this.appServer.startThread(tenant, { model, ephemeral: true });
      this.claimed.add(this.key(tenant, started.thread.id));
      return started.thread.id;
    }
    const running = this.live.get(this.key(tenant, previousId));
    if (running && (!running.store || running.deleted)) throw responseNotFound(previousId);
    if (running && !running.finished) {
      throw conflict(`Response '${previousId}' is still in progress; wait for it to finish or cancel it.`);
    }
    const previous =
      running?.record ?? this.places.get(this.key(tenant, previousId)) ?? (await this.stored(tenant, previousId));
    if (!previous.turnId) {
      throw invalidRequest(`Response '${previousId}' ended before its turn started; it cannot be continued.`);
    }
    const turnId = previous.turnId;
    const source = previous.threadId;
    return this.withThreadLock(tenant, source, async () => {
      const sourceKey = this.key(tenant, source);
      if (store && !this.claimed.has(sourceKey)) {
        const head =
          this.heads.get(sourceKey) ??
          (await this.appServer.latestTurnId(tenant, source).catch((error: unknown) => {
            throw this.threadGone(error, previousId);
          }));
        if (head === turnId) {
          this.claimed.add(sourceKey);
          return source;
        }
      }
      const fork = await this.appServer
        .forkThread(tenant, { threadId: source, lastTurnId: turnId, ephemeral: !store, excludeTurns: true, model })
        .catch((error: unknown) => {
          throw this.threadGone(error, previousId);
        });
      this.claimed.add(this.key(tenant, fork.thread.id));
      return fork.thread.id;
    });
  }

  private threadGone(error: unknown, previousId: string): unknown {
    if (isCodexTransportError(error) && error.code === CodexErrorCode.THREAD_NOT_FOUND) {
      return notFound(`The conversation of response '${previousId}' no longer exists.`);
    }
    return error;
  }

  private async withThreadLock<T>(tenant: string, threadId: string, work: () => Promise<T>): Promise<T> {
    const key = this.key(tenant, threadId);
    const before = this.threadLocks.get(key) ?? Promise.resolve();
    const result = before.catch(() => undefined).then(work);
    const settled = result.catch(() => undefined);
    this.threadLocks.set(key, settled);
    void settled.then(() => {
      if (this.threadLocks.get(key) === settled) this.threadLocks.delete(key);
    });
    return result;
  }

  /** Stored threads stay loaded for their next response, at most {@link MAX_LOADED_THREADS} per tenant. */
  private keepLoaded(tenant: string, threadId: string): void {
    let loaded = this.loadedThreads.get(tenant);
    if (!loaded) this.loadedThreads.set(tenant, (loaded = new Set()));
    loaded.delete(threadId);
    loaded.add(threadId);
    for (const oldest of loaded) {
      if (loaded.size <= MAX_LOADED_THREADS) break;
      if (this.claimed.has(this.key(tenant, oldest))) continue;
      loaded.delete(oldest);
      void this.appServer.releaseThread(tenant, oldest).catch(() => undefined);
    }
  }

  private key(tenant: string, id: string): string {
    return `${tenant}\u0000${id}`;
  }
}
