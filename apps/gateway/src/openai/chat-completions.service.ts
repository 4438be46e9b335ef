import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { defer, finalize, type Observable } from 'rxjs';
import { AppServerTransport, type CodexEvent, ExecTransport, type TurnInput } from '@app/codex-transport';
import type { RequestContext } from '../common/request-context/request-context';
import { WorkspacePolicy } from '../common/workspace/workspace-policy';
import { MetricsService } from '../metrics/metrics.service';
import { codexConfig } from '../config/gateway.config';
import type { ChatCompletionRequestDto, ChatMessageDto } from './dto/chat-completion.dto';
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

interface RenderedMessages {
  instructions: string | undefined;
  prompt: string;
  images: string[];
}

function partsOf(message: ChatMessageDto, index: number): { text: string; images: string[] } {
  const content = message.content;
  if (content === null || content === undefined) return { text: '', images: [] };
  if (typeof content === 'string') return { text: content, images: [] };
  if (!Array.isArray(content)) throw invalidRequest(`messages[${index}].content must be a string or an array of parts`);
  const texts: string[] = [];
  const images: string[] = [];
  content.forEach((part: unknown, j) => {
    const p = part as { type?: unknown; text?: unknown; image_url?: unknown };
    if (p?.type === 'text' && typeof p.text === 'string') texts.push(p.text);
    else if (p?.type === 'image_url') {
      const url = typeof p.image_url === 'string' ? p.image_url : (p.image_url as { url?: unknown } | undefined)?.url;
      if (typeof url !== 'string') throw invalidRequest(`messages[${index}].content[${j}].image_url.url is required`);
      images.push(url);
    } else {
      throw invalidRequest(`messages[${index}].content[${j}] must be a text or image_url part`);
    }
  });
  return { text: texts.join('\n'), images };
}

/**
 * Messages → one codex turn. System/developer messages become a developer message before the prompt;
 * earlier turns are written into the prompt as a transcript (a stateless request carries its own
 * history); the last user message is the turn's input.
 */
export function renderMessages(messages: ChatMessageDto[], field = 'messages'): RenderedMessages {
  const parsed = messages.map((m, i) => ({ role: m.role, ...partsOf(m, i) }));
  const lastUser = parsed.map((m) => m.role).lastIndexOf('user');
  if (lastUser === -1) throw invalidRequest(`${field} must contain a user message`);
  if (parsed.slice(lastUser + 1).some((m) => m.role !== 'system' && m.role !== 'developer')) {
    throw invalidRequest(`the last message of ${field} must be from the user`);
  }
  const instructions = parsed
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => m.text)
    .filter(Boolean)
    .join('\n\n');
  const history = parsed.slice(0, lastUser).filter((m) => m.role !== 'system' && m.role !== 'developer' && m.text);
  const last = parsed[lastUser];
  const prompt =
    history.length > 0
      ? `Earlier in this conversation:\n\n${history.map((m) => `${m.role}: ${m.text}`).join('\n\n')}\n\n---\n\n${last.text}`
      : last.text;
  return { instructions: instructions || undefined, prompt, images: last.images };
}

/** In a continued session only what came after the last assistant reply is new. */
export function newMessages(messages: ChatMessageDto[]): ChatMessageDto[] {
  const lastAssistant = messages.map((m) => m.role).lastIndexOf('assistant');
  return messages.slice(lastAssistant + 1).filter((m) => m.role !== 'system' && m.role !== 'developer');
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

  async prepare(ctx: RequestContext, dto: ChatCompletionRequestDto, sessionId: string | null): Promise<PreparedChat> {
    const { tenant, requestId } = ctx;
    const observed = this.metrics.observeTurn({ protocol: 'openai_chat', tenant, requestId });
    const requested = dto.model ?? this.codex.model;
    const model = this.models.resolve(requested);
    const effort = dto.reasoning_effort ?? dto.reasoning?.effort;
    const chars = dto.messages.reduce((n, m) => n + JSON.stringify(m.content ?? '').length, 0);
    if (chars > this.codex.maxPromptChars) {
      throw promptTooLong(chars, this.codex.maxPromptChars, 'messages');
    }
    const rendered = renderMessages(sessionId ? newMessages(dto.messages) : dto.messages);
    rendered.images.forEach((url) => this.workspace.checkImageUrl(url));
    const input: TurnInput[] = [
      { type: 'text', text: rendered.prompt },
      ...rendered.images.map((url) => ({ type: 'image' as const, url })),
    ];
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
