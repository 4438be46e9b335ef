import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Observable } from 'rxjs';
import { AppServerTransport, type RunTurnParams } from '@app/codex-transport';
import {
  historyItems,
  type PromptMessage,
  promptTurnInput,
  renderPrompt,
  replayedTurn,
  trailingToolResults,
} from '../../common/turn/prompt';
import { effectiveInstructions, forcedCall, parseOutputFormat } from '../structured/output-format';
import { offeredTools, offeredToolsKey, parseClientTools } from '../tools/client-tools';
import type { TurnEvent } from '../tools/tool-turn';
import { ToolTurns } from '../tools/tool-turns';
import { conflict, invalidRequest, notFound, promptTooLong } from '../../common/errors/gateway-error';
import type { RequestContext } from '../../common/request-context/request-context';
import { WorkspacePolicy } from '../../common/workspace/workspace-policy';
import { codexConfig } from '../../config/gateway.config';
import { MetricsService } from '../../metrics/metrics.service';
import { ModelsService } from '../models.service';
import type { CreateResponseDto } from './dto/create-response.dto';
import type { InputItemsQueryDto } from './dto/response-query.dto';
import { ResponseBuilder } from './response-builder';
import {
  type FunctionCallOutputItem,
  newResponseObject,
  type ResponseObject,
  type ResponseStreamEvent,
} from './response-object';
import { ResponseRun } from './response-run';
import { type ResponsePlace, ResponseThreads } from './response-threads';
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
    private readonly toolTurns: ToolTurns,
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
    const tools = parseClientTools(dto, 'responses');
    const format = parseOutputFormat((dto.text as { format?: unknown } | undefined)?.format, 'text');
    const forced =
      tools && tools.choice !== 'auto' && tools.choice !== 'none' ? forcedCall(tools.tools, tools.choice) : null;
    if (forced && format) {
      throw invalidRequest('text.format cannot be combined with a tool_choice that forces a call', 'tool_choice');
    }
    const messages = promptMessages(input);
    const results = trailingToolResults(messages);
    const withTools = messages.some((m) => m.toolCalls !== undefined || m.toolCallId !== undefined);
    const requested = dto.model ?? this.codex.model;
    const model = this.models.resolve(requested);
    const store = dto.store !== false;
    // A background response is fetched later by its id: one that is not stored could never be (OpenAI's rule too).
    if (dto.background === true && !store) {
      throw invalidRequest('background responses must be stored: send store true (or leave it out)', 'store');
    }
    const previousId = dto.previous_response_id || null;
    const previous = previousId === null ? null : { id: previousId, ...(await this.continuable(tenant, previousId)) };
    if (withTools && !previous) checkCallsAnswered(messages);
    // A forced call is an answer in the function's schema: the model is offered no client tools then.
    const offered = offeredTools(tools);
    const turnParams = {
      model,
      effort: dto.reasoning?.effort,
      outputSchema: (forced?.format ?? format)?.codexSchema ?? undefined,
    };
    const instructions = effectiveInstructions(dto.instructions, format?.type);

    // The turn that made the calls these results answer may still wait for them: this response reads it on.
    const waiting = results.length > 0 ? this.toolTurns.resume(tenant, results) : null;
    let threadId: string;
    let turn$: Observable<TurnEvent>;
    if (waiting) {
      threadId = waiting.threadId;
      this.threads.claim(tenant, threadId);
      turn$ = waiting.events();
    } else {
      // Instructions apply to their own response only: they are the thread's developer instructions, and its
      // client functions are its dynamic tools, both fixed when it starts. So a response continues its previous
      // one's thread only with the same of both; otherwise the conversation so far is rebuilt in a new thread
      // from the chain's items.
      const rebuild =
        previous !== null && (previous.instructions !== instructions || previous.tools !== offeredToolsKey(offered));
      const continued = rebuild ? null : previous;
      threadId = await this.threads.place(tenant, continued, store, model, {
        tools: offered,
        instructions: continued ? undefined : instructions,
      });
      const chain = rebuild ? await this.chainItems(tenant, previous.id) : [];
      let params: RunTurnParams;
      if (withTools || rebuild) {
        // Replayed as the items it was: messages, function calls and their outputs; the model goes on from the end.
        const { history, input, images } = replayedTurn(
          messages,
          'the last input item must be a user message or a function_call_output',
          'input',
        );
        images.forEach((url) => this.workspace.checkImageUrl(url));
        const forcedBefore = continued ? await this.forcedCallsOf(tenant, continued.id, results) : [];
        params = { threadId, input, history: [...chain, ...forcedBefore, ...history], ...turnParams };
      } else {
        const rendered = renderPrompt(messages, 'input');
        rendered.images.forEach((url) => this.workspace.checkImageUrl(url));
        params = {
          threadId,
          input: promptTurnInput(rendered),
          developerMessage: rendered.instructions,
          ...turnParams,
        };
      }
      const codex$ = this.appServer
        .runTurn(tenant, params)
        .pipe(this.metrics.observeTurn({ protocol: 'openai_responses', tenant, requestId }));
      turn$ = offered ? this.toolTurns.hold(tenant, codex$).events() : codex$;
    }
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
    const record: StoredResponse = { response, threadId, turnId: waiting?.turnId ?? null, input };
    const run = new ResponseRun(
      new ResponseBuilder(response),
      dto.background === true,
      {
        turnStarted: (turnId) => {
          record.turnId = turnId;
          this.threads.turnStarted(tenant, threadId, turnId);
        },
        finished: () => this.finished(live),
      },
      { format, forced },
    );
    const live: LiveResponse = { tenant, run, record, store, deleted: false, persisted: Promise.resolve() };
    this.live.set(key, live);
    if (waiting) this.threads.turnStarted(tenant, threadId, waiting.turnId);
    try {
      await run.start(turn$);
    } catch (error) {
      // Refused before it began (thread busy, too many turns, shutting down): an HTTP error, nothing kept.
      this.live.delete(key);
      this.threads.release(tenant, threadId, store);
      throw error;
    }
    if (store) this.persist(live);
    if (results.length > 0) run.toolResults = waiting ? 'resumed' : 'replayed';
    return run;
  }

  /**
   * The calls of a previous response that answered a forced `tool_choice`: codex's thread holds them as an
   * answer, not as calls, so a replay puts the calls these results answer in front of them.
   */
  private async forcedCallsOf(
    tenant: string,
    previousId: string,
    results: Array<{ callId: string }>,
  ): Promise<Array<Record<string, unknown>>> {
    const previous =
      this.live.get(this.key(tenant, previousId))?.run.snapshot() ?? (await this.stored(tenant, previousId)).response;
    const choice = previous.tool_choice;
    if (choice !== 'required' && (typeof choice !== 'object' || choice === null)) return [];
    const answered = new Set(results.map((r) => r.callId));
    return previous.output
      .filter((item) => item.type === 'function_call' && answered.has(item.call_id))
      .map((item) => {
        const call = item as FunctionCallOutputItem;
        return { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments };
      });
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
    const events = (await this.records.events(tenant, record)) ?? [];
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

  /**
   * The conversation of a chain of responses (`previousId` and those before it) as Responses items, oldest
   * first: each response's input, then its messages and function calls. codex's own activity (commands, file
   * changes) is not part of it.
   */
  private async chainItems(tenant: string, previousId: string): Promise<Array<Record<string, unknown>>> {
    const responses: Array<Pick<StoredResponse, 'input' | 'response'>> = [];
    for (let id: string | null = previousId; id && responses.length < MAX_CHAIN;) {
      const record: StoredResponse = this.live.get(this.key(tenant, id))?.record ?? (await this.stored(tenant, id));
      const response: ResponseObject = this.live.get(this.key(tenant, id))?.run.snapshot() ?? record.response;
      responses.unshift({ input: record.input, response });
      id = response.previous_response_id;
    }
    return responses.flatMap((r) => historyItems([...promptMessages(r.input), ...outputMessages(r.response)]));
  }

  /** Where `previousId` lives, to continue it: it must exist for the tenant, be finished and have a turn. */
  private async continuable(
    tenant: string,
    previousId: string,
  ): Promise<{ threadId: string; turnId: string; instructions: string | undefined; tools: string }> {
    const running = this.live.get(this.key(tenant, previousId));
    if (running && (!running.store || running.deleted)) throw responseNotFound(previousId);
    if (running && !running.run.finished) {
      throw conflict(`Response '${previousId}' is still in progress; wait for it to finish or cancel it.`);
    }
    const remembered = running ? null : this.threads.placeOf(tenant, previousId);
    const place = remembered ?? placeOfRecord(running?.record ?? (await this.stored(tenant, previousId)));
    if (!place.turnId) {
      throw invalidRequest(
        `Response '${previousId}' ended before its turn started; it cannot be continued.`,
        'previous_response_id',
      );
    }
    return { threadId: place.threadId, turnId: place.turnId, instructions: place.instructions, tools: place.tools };
  }

  private finished(live: LiveResponse): void {
    const { tenant, run, record } = live;
    const key = this.key(tenant, run.id);
    this.threads.release(tenant, record.threadId, live.store);
    if (live.store && !live.deleted) {
      this.threads.remember(tenant, run.id, placeOfRecord({ ...record, response: run.snapshot() }));
      this.persist(live, true);
    }
    void live.persisted.finally(() => {
      if (this.live.get(key) === live) this.live.delete(key);
    });
  }

  private persist(live: LiveResponse, withEvents = false): void {
    const record: StoredResponse = {
      ...live.record,
      response: live.run.snapshot(),
      ...(withEvents ? { events: live.run.events() } : {}),
    };
    live.persisted = live.persisted
      .then(async () => {
        if (!live.deleted) await this.records.save(live.tenant, record);
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

/** Without `previous_response_id`, every function_call_output must answer a function_call of the input (as OpenAI requires). */
function checkCallsAnswered(messages: PromptMessage[]): void {
  const calls = new Set(messages.flatMap((m) => (m.toolCalls ?? []).map((c) => c.id)));
  for (const m of messages) {
    if (m.toolCallId !== undefined && !calls.has(m.toolCallId)) {
      throw invalidRequest(`No tool call found for function call output with call_id ${m.toolCallId}.`, 'input');
    }
  }
}

/** Responses a chain is rebuilt from, at most (older ones are left out). */
const MAX_CHAIN = 1000;

/** A response's output as the conversation saw it: its messages and its function calls. */
function outputMessages(response: ResponseObject): PromptMessage[] {
  return response.output.flatMap((item): PromptMessage[] => {
    if (item.type === 'message')
      return [{ role: 'assistant', text: item.content.map((c) => c.text).join(''), images: [] }];
    if (item.type === 'function_call') {
      return [
        {
          role: 'assistant',
          text: '',
          images: [],
          toolCalls: [{ id: item.call_id, name: item.name, arguments: item.arguments }],
        },
      ];
    }
    return [];
  });
}

/** Where a response lives in codex, and the instructions its thread runs with. */
function placeOfRecord(record: StoredResponse): ResponsePlace {
  const formatType = (record.response.text as { format?: { type?: unknown } } | undefined)?.format?.type;
  let tools = '';
  try {
    const { tools: sent, tool_choice: choice } = record.response;
    tools = offeredToolsKey(offeredTools(parseClientTools({ tools: sent, tool_choice: choice }, 'responses')));
  } catch {
    // echoed as sent; a request whose tools were refused never ran
  }
  return {
    threadId: record.threadId,
    turnId: record.turnId,
    instructions: effectiveInstructions(record.response.instructions, formatType),
    tools,
  };
}
