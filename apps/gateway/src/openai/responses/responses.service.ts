import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Observable } from 'rxjs';
import { AppServerTransport } from '@app/codex-transport';
import { promptTurnInput, renderPrompt } from '../../common/turn/prompt';
import { conflict, invalidRequest, notFound, promptTooLong } from '../../common/errors/gateway-error';
import type { RequestContext } from '../../common/request-context/request-context';
import { WorkspacePolicy } from '../../common/workspace/workspace-policy';
import { codexConfig } from '../../config/gateway.config';
import { MetricsService } from '../../metrics/metrics.service';
import { ModelsService } from '../models.service';
import type { CreateResponseDto } from './dto/create-response.dto';
import type { InputItemsQueryDto } from './dto/response-query.dto';
import { ResponseBuilder } from './response-builder';
import { newResponseObject, type ResponseObject, type ResponseStreamEvent } from './response-object';
import { ResponseRun } from './response-run';
import { ResponseThreads } from './response-threads';
import { inputChars, promptMessages } from '../input/response-input.pipe';
import { type InputItem, newResponseId, ResponsesStore, type StoredResponse } from './responses.store';

/** A response whose run this process holds, and what is kept of it. */
interface LiveResponse {
  tenant: string;
  run: ResponseRun;
  record: StoredResponse;
  store: boolean;
  deleted: boolean;
  /** Writes of its record, in order. */
  persisted: Promise<void>;
}

export interface InputItemList {
  object: 'list';
  data: InputItem[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

function responseNotFound(id: string) {
  return notFound(`Response with id '${id}' not found.`);
}

/**
 * The Responses API on codex threads: a response is a turn ({@link ResponseRun}) on a thread that
 * {@link ResponseThreads} picks. Records live in {@link ResponsesStore}; the conversation itself is codex's
 * thread, so both survive a restart.
 */
@Injectable()
export class ResponsesService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ResponsesService');
  private readonly live = new Map<string, LiveResponse>();

  constructor(
    private readonly appServer: AppServerTransport,
    private readonly threads: ResponseThreads,
    private readonly records: ResponsesStore,
    private readonly models: ModelsService,
    private readonly workspace: WorkspacePolicy,
    private readonly metrics: MetricsService,
    @Inject(codexConfig.KEY) private readonly codex: ConfigType<typeof codexConfig>,
  ) {}

  /** Places the response on a thread and starts its turn. Errors before the turn begins are thrown. */
  async create(
    { tenant, requestId }: RequestContext,
    dto: CreateResponseDto,
    input: InputItem[],
  ): Promise<ResponseRun> {
    const chars = inputChars(input, dto.instructions);
    if (chars > this.codex.maxPromptChars) throw promptTooLong(chars, this.codex.maxPromptChars, 'input');
    const rendered = renderPrompt(promptMessages(input), 'input');
    rendered.images.forEach((url) => this.workspace.checkImageUrl(url));
    const developerMessage = [dto.instructions, rendered.instructions].filter(Boolean).join('\n\n') || undefined;
    const requested = dto.model ?? this.codex.model;
    const model = this.models.resolve(requested);
    const store = dto.store !== false;
    const previousId = dto.previous_response_id || null;

    const previous = previousId === null ? null : { id: previousId, ...(await this.continuable(tenant, previousId)) };
    const threadId = await this.threads.place(tenant, previous, store, model);
    const response = newResponseObject({
      id: newResponseId(),
      model: requested,
      instructions: dto.instructions ?? null,
      previousResponseId: previousId,
      reasoning: dto.reasoning,
      store,
      background: dto.background === true,
      metadata: dto.metadata ?? {},
      request: dto,
    });
    const key = this.key(tenant, response.id);
    const record: StoredResponse = { response, threadId, turnId: null, input };
    const run = new ResponseRun(new ResponseBuilder(response), dto.background === true, {
      turnStarted: (turnId) => {
        record.turnId = turnId;
        this.threads.turnStarted(tenant, threadId, turnId);
      },
      finished: () => this.finished(live),
    });
    const live: LiveResponse = { tenant, run, record, store, deleted: false, persisted: Promise.resolve() };
    this.live.set(key, live);
    const turn$ = this.appServer
      .runTurn(tenant, {
        threadId,
        input: promptTurnInput(rendered),
        model,
        effort: dto.reasoning?.effort,
        developerMessage,
      })
      .pipe(this.metrics.observeTurn({ protocol: 'openai_responses', tenant, requestId }));
    try {
      await run.start(turn$);
    } catch (error) {
      // Refused before it began (thread busy, too many turns, shutting down): an HTTP error, nothing kept.
      this.live.delete(key);
      this.threads.release(tenant, threadId, store);
      throw error;
    }
    if (store) this.persist(live);
    return run;
  }

  /** The Response as it stands: live, stored, or 404 (unknown, deleted, `store:false`, another tenant's). */
  async retrieve(tenant: string, id: string): Promise<ResponseObject> {
    const live = this.visible(tenant, id);
    return live ? live.run.snapshot() : (await this.stored(tenant, id)).response;
  }

  /** Events after `after` for a live or stored response. */
  async replay(tenant: string, id: string, after: number): Promise<Observable<ResponseStreamEvent>> {
    const live = this.visible(tenant, id);
    if (live) return live.run.eventsAfter(after);
    const record = await this.stored(tenant, id);
    const events = (await this.records.events(tenant, id)) ?? [];
    return new Observable<ResponseStreamEvent>((subscriber) => {
      for (const event of events) if (event.sequence_number > after) subscriber.next(event);
      if (record.response.status === 'in_progress')
        subscriber.next({ type: 'response.failed', sequence_number: events.length, response: record.response });
      subscriber.complete();
    });
  }

  /** One page of a response's input items. */
  async inputItems(tenant: string, id: string, query: InputItemsQueryDto): Promise<InputItemList> {
    const live = this.visible(tenant, id);
    const items = live ? live.record.input : (await this.stored(tenant, id)).input;
    const ordered = query.order === 'asc' ? [...items] : [...items].reverse();
    const limit = query.limit ?? 20;
    const start = query.after ? ordered.findIndex((item) => item.id === query.after) + 1 : 0;
    const page = ordered.slice(start, start + limit);
    return {
      object: 'list',
      data: page,
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
      has_more: start + limit < ordered.length,
    };
  }

  /** Interrupts a running response; it ends with `status: "cancelled"`. */
  async cancel(tenant: string, id: string): Promise<ResponseObject> {
    const live = this.live.get(this.key(tenant, id));
    if (!live || live.deleted) {
      const record = await this.stored(tenant, id);
      throw conflict(`Response '${id}' is ${record.response.status}; only a response in progress can be cancelled.`);
    }
    live.run.cancel();
    return live.run.done;
  }

  /** Deletes the record (a running response is cancelled first). */
  async delete(tenant: string, id: string): Promise<{ id: string; object: 'response'; deleted: true }> {
    this.threads.forget(tenant, id);
    const live = this.live.get(this.key(tenant, id));
    if (live && !live.store) throw responseNotFound(id);
    if (live && !live.deleted) {
      live.deleted = true;
      live.run.cancel();
      await live.run.done;
      await live.persisted;
    }
    const existed = await this.records.delete(tenant, id);
    if (!existed && !live) throw responseNotFound(id);
    return { id, object: 'response', deleted: true };
  }

  /** Running responses end as cancelled, and their records are written before the gateway exits. */
  async beforeApplicationShutdown(): Promise<void> {
    const running = [...this.live.values()];
    for (const live of running) live.run.cancel();
    await Promise.all(running.map((live) => live.persisted));
  }

  /** Where `previousId` lives, to continue it: it must exist for the tenant, be finished and have a turn. */
  private async continuable(tenant: string, previousId: string): Promise<{ threadId: string; turnId: string }> {
    const running = this.live.get(this.key(tenant, previousId));
    if (running && (!running.store || running.deleted)) throw responseNotFound(previousId);
    if (running && !running.run.finished) {
      throw conflict(`Response '${previousId}' is still in progress; wait for it to finish or cancel it.`);
    }
    const place =
      running?.record ?? this.threads.placeOf(tenant, previousId) ?? (await this.stored(tenant, previousId));
    if (!place.turnId) {
      throw invalidRequest(
        `Response '${previousId}' ended before its turn started; it cannot be continued.`,
        'previous_response_id',
      );
    }
    return { threadId: place.threadId, turnId: place.turnId };
  }

  private finished(live: LiveResponse): void {
    const { tenant, run, record } = live;
    const key = this.key(tenant, run.id);
    this.threads.release(tenant, record.threadId, live.store);
    if (live.store && !live.deleted) {
      this.threads.remember(tenant, run.id, { threadId: record.threadId, turnId: record.turnId });
      this.persist(live, true);
    }
    void live.persisted.finally(() => {
      if (this.live.get(key) === live) this.live.delete(key);
    });
  }

  private persist(live: LiveResponse, withEvents = false): void {
    const record: StoredResponse = { ...live.record, response: live.run.snapshot() };
    const events = withEvents ? live.run.events() : null;
    live.persisted = live.persisted
      .then(async () => {
        if (live.deleted) return;
        if (events) await this.records.saveEvents(live.tenant, live.run.id, events);
        await this.records.save(live.tenant, record);
      })
      .catch((error: unknown) =>
        this.logger.error(`could not store response ${live.run.id}: ${(error as Error).message}`),
      );
  }

  /** A live response the caller may see (not `store:false`, not being deleted). */
  private visible(tenant: string, id: string): LiveResponse | null {
    const live = this.live.get(this.key(tenant, id));
    if (!live) return null;
    if (!live.store || live.deleted) throw responseNotFound(id);
    return live;
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

  private key(tenant: string, id: string): string {
    return `${tenant}\u0000${id}`;
  }
}
