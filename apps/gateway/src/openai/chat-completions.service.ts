import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { defer, finalize, type Observable } from 'rxjs';
import { AppServerTransport, type CodexEvent, ExecTransport } from '@app/codex-transport';
import type { RequestContext } from '../common/request-context/request-context';
import { WorkspacePolicy } from '../common/workspace/workspace-policy';
import { MetricsService } from '../metrics/metrics.service';
import { codexConfig } from '../config/gateway.config';
import { newPromptMessages, promptTurnInput, renderPrompt } from '../common/turn/prompt';
import type { ChatCompletionRequestDto } from './dto/chat-completion.dto';
import type { ChatPrompt } from './input/chat-messages.pipe';
import { ModelsService } from './models.service';
import { invalidRequest, promptTooLong } from '../common/errors/gateway-error';

export interface PreparedChat {
  id: string;
  created: number;
  /** The model the client named (echoed in every response). */
  model: string;
  /** The codex thread; for exec it is known once the run starts (see `onThread`). */
  threadId: string | null;
  events$: Observable<CodexEvent>;
}

@Injectable()
export class ChatCompletionsService {
  constructor(
    private readonly appServer: AppServerTransport,
    private readonly exec: ExecTransport,
    private readonly models: ModelsService,
    private readonly workspace: WorkspacePolicy,
    private readonly metrics: MetricsService,
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
    const observed = this.metrics.observeTurn({ protocol: 'openai_chat', tenant, requestId });
    const requested = dto.model ?? this.codex.model;
    const model = this.models.resolve(requested);
    const effort = dto.reasoning_effort ?? dto.reasoning?.effort;
    if (conversation.chars > this.codex.maxPromptChars) {
      throw promptTooLong(conversation.chars, this.codex.maxPromptChars, 'messages');
    }
    const messages = sessionId ? newPromptMessages(conversation.messages) : conversation.messages;
    const rendered = renderPrompt(messages, 'messages');
    rendered.images.forEach((url) => this.workspace.checkImageUrl(url));
    const input = promptTurnInput(rendered);
    const base = {
      id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
      created: Math.floor(Date.now() / 1000),
      model: requested,
    };

    if (this.codex.backend === 'exec') {
      if (rendered.images.length > 0) throw invalidRequest('image inputs need CODEX_BACKEND=app-server');
      const events$ = this.exec
        .runTurn(tenant, {
          prompt: rendered.prompt,
          threadId: sessionId ?? undefined,
          model,
          effort,
          developerInstructions: sessionId ? undefined : rendered.instructions,
        })
        .pipe(observed);
      return { ...base, threadId: sessionId, events$ };
    }

    let threadId = sessionId;
    let release = false;
    if (!threadId) {
      // Kept on disk (not ephemeral) so the X-Codex-Session-Id in the response can continue it. The
      // system messages go in as a developer message right before the prompt (they stay in the thread).
      threadId = (await this.appServer.takeThread(tenant)).thread.id;
      release = true;
    }
    const id = threadId;
    const developerMessage = sessionId ? undefined : rendered.instructions;
    const events$ = defer(() =>
      this.appServer.runTurn(tenant, { threadId: id, input, model, effort, developerMessage }),
    ).pipe(
      // Unload the thread once its turn is over; a later request with its session id resumes it.
      finalize(() => {
        if (release) void this.appServer.releaseThread(tenant, id);
      }),
      observed,
    );
    return { ...base, threadId, events$ };
  }
}
