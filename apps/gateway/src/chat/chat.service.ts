import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { defer, type Observable } from 'rxjs';
import { AppServerTransport, type CodexEvent, type CodexThread } from '@app/codex-transport';
import type { RequestContext } from '../common/request-context/request-context';
import { codexConfig } from '../config/gateway.config';
import { MetricsService } from '../metrics/metrics.service';
import type { ChatRequestDto, HistoryResponseDto, StatusResponseDto, ThreadsResponseDto } from './dto/chat.dto';
import { invalidRequest } from '../common/errors/gateway-error';

const iso = (seconds: number | undefined) => (seconds ? new Date(seconds * 1000).toISOString() : null);

/** The simple chat API: a conversation is a codex thread of the caller's tenant. */
@Injectable()
export class ChatService {
  private version: Promise<string | null> | null = null;

  constructor(
    private readonly transport: AppServerTransport,
    private readonly metrics: MetricsService,
    @Inject(codexConfig.KEY) private readonly codex: ConfigType<typeof codexConfig>,
  ) {}

  /**
   * The thread to talk on (a new one, or the caller's existing one) and the turn as a cold stream.
   */
  async prepare(
    { tenant, requestId }: RequestContext,
    dto: ChatRequestDto,
  ): Promise<{ threadId: string; events$: Observable<CodexEvent> }> {
    const prompt = dto.messages.map((m) => m.content).join('\n\n');
    if (!prompt.trim()) throw invalidRequest('Empty message');
    // An unknown (or another tenant's) thread_id fails when the turn starts, before any event, so the
    // answer is still a plain 404.
    // A new conversation starts on the tenant's spare thread; the model goes with the turn.
    const threadId = dto.thread_id ?? (await this.transport.takeThread(tenant)).thread.id;
    const id = threadId;
    const events$ = defer(() =>
      this.transport.runTurn(tenant, { threadId: id, input: [{ type: 'text', text: prompt }], model: dto.model }),
    ).pipe(this.metrics.observeTurn({ protocol: 'chat', tenant, requestId }));
    return { threadId, events$ };
  }

  async threads(tenant: string, limit = 50, cursor?: string): Promise<ThreadsResponseDto> {
    const page = await this.transport.listThreads(tenant, { limit, cursor });
    return {
      threads: page.data.map((t) => ({
        thread_id: t.id,
        preview: t.preview || null,
        created_at: iso(t.createdAt),
        updated_at: iso(t.updatedAt),
      })),
      next_cursor: page.nextCursor,
    };
  }

  async history(tenant: string, threadId: string): Promise<HistoryResponseDto> {
    const thread: CodexThread = await this.transport.readThread(tenant, threadId, true);
    const messages: HistoryResponseDto['messages'] = [];
    for (const turn of thread.turns) {
      for (const item of turn.items) {
        if (item.type === 'userMessage') messages.push({ role: 'user', content: item.text, turn_id: turn.id });
        if (item.type === 'agentMessage') messages.push({ role: 'assistant', content: item.text, turn_id: turn.id });
      }
    }
    return {
      thread_id: thread.id,
      preview: thread.preview || null,
      created_at: iso(thread.createdAt),
      messages,
      turns: thread.turns as unknown as Array<Record<string, unknown>>,
    };
  }

  async status(): Promise<StatusResponseDto> {
    const version = await this.codexVersion();
    return {
      status: version ? 'ok' : 'unavailable',
      codex_available: version !== null,
      codex_version: version,
      api_key_configured: Boolean(this.codex.apiKey),
    };
  }

  /** `codex --version`, run once and remembered (a failure is retried on the next call). */
  private codexVersion(): Promise<string | null> {
    this.version ??= (async () => {
      try {
        const binary = this.transport.resolveBinary();
        const { stdout } = await promisify(execFile)(binary.path, ['--version'], { timeout: 10_000 });
        return stdout.trim() || null;
      } catch {
        this.version = null;
        return null;
      }
    })();
    return this.version;
  }
}
