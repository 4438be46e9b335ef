import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { defer, finalize, type MonoTypeOperatorFunction, type Observable, tap } from 'rxjs';
import {
  AppServerTransport,
  type CodexEvent,
  CodexErrorCode,
  type DynamicTool,
  ExecTransport,
  isCodexTransportError,
  isThreadId,
} from '@app/codex-transport';
import { BoundedMap } from '../common/bounded-map';
import { SESSION_ID } from '../common/storage/session-threads.store';
import { ChatSessionsStore } from './chat-sessions.store';
import type { RequestContext } from '../common/request-context/request-context';
import { WorkspacePolicy } from '../common/workspace/workspace-policy';
import { MetricsService } from '../metrics/metrics.service';
import { codexConfig } from '../config/gateway.config';
import {
  replayedTurn,
  newPromptMessages,
  type PromptMessage,
  promptTurnInput,
  type RenderedPrompt,
  renderPrompt,
  trailingToolResults,
} from '../common/turn/prompt';
import type { ChatCompletionRequestDto } from './dto/chat-completion.dto';
import type { ChatPrompt } from './input/chat-messages.pipe';
import { ModelsService } from './models.service';
import { invalidRequest, promptTooLong } from '../common/errors/gateway-error';
import { forcedCall, type ForcedCall, type OutputFormat, parseOutputFormat } from './structured/output-format';
import { offeredTools, offeredToolsKey, parseClientTools } from './tools/client-tools';
import type { ToolResultsPath } from './tools/tool-results-path';
import type { TurnEvent } from './tools/tool-turn';
import { ToolTurns } from './tools/tool-turns';

/** The header that names a Chat Completions session (a codex thread). */
export const SESSION_HEADER = 'X-Codex-Session-Id';

export interface PreparedChat {
  id: string;
  created: number;
  /** The model the client named (echoed in every response). */
  model: string;
  /** The codex thread; for exec it is known once the run starts (see `onThread`). */
  threadId: string | null;
  /** The client's session id, echoed in X-Codex-Session-Id (null: the thread's id is sent). */
  sessionId: string | null;
  events$: Observable<TurnEvent>;
  /** How a request carrying tool results was served (see ToolResultsPath); null without results. */
  toolResults: ToolResultsPath | null;
  /** `response_format`, checked on the final answer. */
  format: OutputFormat | null;
  /** A forced `tool_choice`: the answer is returned as this call. */
  forced: ForcedCall | null;
}

@Injectable()
export class ChatCompletionsService {
  /**
   * The client functions of threads started with some, for requests that continue them by the thread's own
   * id (unknown after a restart: such a request then gets a new thread offering its functions).
   */
  private readonly threadTools = new BoundedMap<string, string>(10_000);

  constructor(
    private readonly appServer: AppServerTransport,
    private readonly exec: ExecTransport,
    private readonly models: ModelsService,
    private readonly workspace: WorkspacePolicy,
    private readonly metrics: MetricsService,
    private readonly toolTurns: ToolTurns,
    private readonly sessions: ChatSessionsStore,
    @Inject(codexConfig.KEY) private readonly codex: ConfigType<typeof codexConfig>,
  ) {}

  /** The turn for a request whose `messages` are already parsed; nothing runs until `events$` is subscribed. */
  async prepare(
    ctx: RequestContext,
    dto: ChatCompletionRequestDto,
    conversation: ChatPrompt,
    sessionId: string | null,
  ): Promise<PreparedChat> {
    const { tenant, requestId } = ctx;
    const requested = dto.model ?? this.codex.model;
    if (conversation.chars > this.codex.maxPromptChars) {
      throw promptTooLong(conversation.chars, this.codex.maxPromptChars, 'messages');
    }
    const tools = parseClientTools(dto, 'chat');
    const format = parseOutputFormat(dto.response_format, 'response_format');
    const forced =
      tools && tools.choice !== 'auto' && tools.choice !== 'none' ? forcedCall(tools.tools, tools.choice) : null;
    if (forced && format) {
      throw invalidRequest('response_format cannot be combined with a tool_choice that forces a call', 'tool_choice');
    }
    const session = sessionId === null ? null : await this.session(tenant, sessionId);
    const results = trailingToolResults(conversation.messages);
    const withTools = conversation.messages.some((m) => m.toolCalls !== undefined || m.toolCallId !== undefined);
    if (this.codex.backend === 'exec' && (tools || withTools)) {
      throw invalidRequest('function tools need CODEX_BACKEND=app-server (codex exec cannot call them)', 'tools');
    }
    const base = {
      id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      created: Math.floor(Date.now() / 1000),
      model: requested,
      format,
      forced,
    };
    if (results.length > 0) {
      // The turn that made these calls may still be waiting for them: it goes on, in this response.
      const turn = this.toolTurns.resume(tenant, results);
      if (turn) {
        const events$ = turn.events();
        return { ...base, threadId: turn.threadId, sessionId: session?.id ?? null, events$, toolResults: 'resumed' };
      }
    }
    const turn: ChatTurn = {
      tenant,
      observed: this.metrics.observeTurn({ protocol: 'openai_chat', tenant, requestId }),
      model: this.models.resolve(requested),
      effort: dto.reasoning_effort ?? dto.reasoning?.effort,
      // A forced call is an answer in the function's schema: the model is offered no client tools then.
      tools: offeredTools(tools),
      outputSchema: (forced?.format ?? format)?.codexSchema ?? undefined,
      formatInstruction: format?.instruction ?? undefined,
      session,
    };
    // A session's thread offers the functions it started with: other ones need a thread of their own, which
    // the request's conversation is replayed into (the session then names that thread).
    const toolsChanged = session?.threadId != null && session.fixed !== offeredToolsKey(turn.tools);
    if (withTools || toolsChanged) {
      const replayed = await this.replay(turn, conversation.messages);
      return { ...base, ...replayed, toolResults: results.length > 0 ? 'replayed' : null };
    }
    const continued = session?.threadId ?? null;
    const messages = continued ? newPromptMessages(conversation.messages) : conversation.messages;
    const rendered = renderPrompt(messages, 'messages');
    rendered.images.forEach((url) => this.workspace.checkImageUrl(url));
    const started =
      this.codex.backend === 'exec'
        ? this.execTurn(turn, rendered, continued)
        : await this.appServerTurn(turn, rendered, continued);
    return { ...base, ...started, toolResults: null };
  }

  /**
   * The session a client names: the thread it was given (the id of a thread the gateway returned, or one the
   * client chose before), or none yet (a new id: the session starts with this request).
   */
  private async session(tenant: string, id: string): Promise<ChatSession> {
    if (!SESSION_ID.test(id)) {
      throw invalidRequest(`${SESSION_HEADER} must be 1 to 128 letters, digits, '.', '_', ':' or '-'`);
    }
    const known = await this.sessions.lookup(tenant, id);
    if (known) return { id, ...known };
    // A thread of this tenant's named by its own id (returned by an earlier request, or from the REST API).
    if (isThreadId(id)) {
      // exec resumes it, or starts afresh when there is none (its new thread is then bound to this id).
      if (this.codex.backend === 'exec') return { id, threadId: id, fixed: '' };
      const exists = await this.appServer.readThread(tenant, id).then(
        () => true,
        (error: unknown) =>
          isCodexTransportError(error, CodexErrorCode.THREAD_NOT_FOUND) ? false : Promise.reject(error),
      );
      if (exists) return { id, threadId: id, fixed: this.threadTools.get(`${tenant}\u0000${id}`) ?? '' };
    }
    return { id, threadId: null, fixed: '' };
  }

  /**
   * Records that the client's session id names this (new) thread. Without a session id nothing is kept: the
   * returned id is the thread's own, which names it by itself.
   */
  private bind(turn: ChatTurn, threadId: string): Promise<void> {
    if (turn.tools) this.threadTools.remember(`${turn.tenant}\u0000${threadId}`, offeredToolsKey(turn.tools));
    const { session } = turn;
    if (!session || session.threadId === threadId) return Promise.resolve();
    return this.sessions.save(turn.tenant, session.id, threadId, offeredToolsKey(turn.tools));
  }

  /**
   * No turn waits for the conversation's tool results (or it has earlier calls): it is put into a new thread
   * as the items it was (messages, function calls, their outputs) and the model goes on from its end.
   */
  private async replay(turn: ChatTurn, messages: PromptMessage[]): Promise<StartedChat> {
    const { history, input, images } = replayedTurn(
      messages,
      'the last message of messages must be from the user or a tool',
      'messages',
    );
    images.forEach((url) => this.workspace.checkImageUrl(url));
    const { tenant } = turn;
    const threadId = (await this.appServer.startThread(tenant, { dynamicTools: turn.tools })).thread.id;
    await this.bind(turn, threadId);
    const turn$ = this.appServer
      .runTurn(tenant, {
        threadId,
        input,
        model: turn.model,
        effort: turn.effort,
        history,
        developerMessage: turn.formatInstruction,
        outputSchema: turn.outputSchema,
      })
      .pipe(
        finalize(() => void this.appServer.releaseThread(tenant, threadId)),
        turn.observed,
      );
    return { threadId, sessionId: turn.session?.id ?? null, events$: this.held(turn, turn$) };
  }

  private execTurn(turn: ChatTurn, rendered: RenderedPrompt, sessionId: string | null): StartedChat {
    if (rendered.images.length > 0) throw invalidRequest('image inputs need CODEX_BACKEND=app-server');
    const instructions = [sessionId ? undefined : rendered.instructions, turn.formatInstruction].filter(Boolean);
    const events$ = this.exec
      .runTurn(turn.tenant, {
        prompt: rendered.prompt,
        threadId: sessionId ?? undefined,
        model: turn.model,
        effort: turn.effort,
        developerInstructions: instructions.length > 0 ? instructions.join('\n\n') : undefined,
        outputSchema: turn.outputSchema,
      })
      .pipe(
        // exec learns its thread's id from the run itself
        tap((event) => {
          if (event.type === 'thread.started') void this.bind(turn, event.threadId).catch(() => undefined);
        }),
        turn.observed,
      );
    return { threadId: sessionId, sessionId: turn.session?.id ?? null, events$ };
  }

  private async appServerTurn(
    turn: ChatTurn,
    rendered: RenderedPrompt,
    sessionId: string | null,
  ): Promise<StartedChat> {
    const { tenant } = turn;
    let threadId = sessionId;
    let release = false;
    if (!threadId) {
      // Kept on disk (not ephemeral) so the X-Codex-Session-Id in the response can continue it. The
      // system messages go in as a developer message right before the prompt (they stay in the thread).
      // A thread offers the tools it started with: a request with tools gets a new one that offers them.
      threadId = turn.tools
        ? (await this.appServer.startThread(tenant, { dynamicTools: turn.tools })).thread.id
        : (await this.appServer.takeThread(tenant)).thread.id;
      release = true;
      await this.bind(turn, threadId);
    }
    const id = threadId;
    const instructions = [sessionId ? undefined : rendered.instructions, turn.formatInstruction].filter(Boolean);
    const turn$ = defer(() =>
      this.appServer.runTurn(tenant, {
        threadId: id,
        input: promptTurnInput(rendered),
        model: turn.model,
        effort: turn.effort,
        developerMessage: instructions.length > 0 ? instructions.join('\n\n') : undefined,
        outputSchema: turn.outputSchema,
      }),
    ).pipe(
      // Unload the thread once its turn is over; a later request with its session id resumes it.
      finalize(() => {
        if (release) void this.appServer.releaseThread(tenant, id);
      }),
      turn.observed,
    );
    return { threadId, sessionId: turn.session?.id ?? null, events$: this.held(turn, turn$) };
  }

  /** A turn that offers client tools may stop for them and go on in a later request: it is held for that. */
  private held(turn: ChatTurn, turn$: Observable<CodexEvent>): Observable<TurnEvent> {
    return turn.tools ? this.toolTurns.hold(turn.tenant, turn$).events() : turn$;
  }
}

/** What every new turn of a request runs with. */
interface ChatTurn {
  tenant: string;
  observed: MonoTypeOperatorFunction<CodexEvent>;
  model: string | undefined;
  effort: string | undefined;
  /** The client's functions offered to the model (none: no client tools, or a forced call). */
  tools: DynamicTool[] | undefined;
  outputSchema: Record<string, unknown> | undefined;
  /** For `json_object`, which codex cannot enforce. */
  formatInstruction: string | undefined;
  session: ChatSession | null;
}

/** A client's `X-Codex-Session-Id` and the thread it names (null: a new session). */
interface ChatSession {
  id: string;
  threadId: string | null;
  /** The client functions that thread offers (see offeredToolsKey). */
  fixed: string;
}

interface StartedChat {
  threadId: string | null;
  /** The client's session id, echoed (null: the thread's id is the session id). */
  sessionId: string | null;
  events$: Observable<TurnEvent>;
}
