import { Body, Controller, Headers, HttpCode, Inject, Post, Res, UseFilters } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { concatMap, from, lastValueFrom, map, tap, toArray } from 'rxjs';
import type { CodexEvent } from '@app/codex-transport';
import { describeFailure } from '../common/errors/failure';
import { DebugLog } from '../common/logging/debug-log';
import { serverConfig } from '../config/gateway.config';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { untilClientGone } from '../common/sse/client-gone';
import { writeSse } from '../common/sse/sse-writer';
import { MetricsService } from '../metrics/metrics.service';
import { ChatCompletionsService } from './chat-completions.service';
import { ChatChunkMapper, toChatCompletion } from './chat-completions.mapper';
import { ChatCompletionRequestDto } from './dto/chat-completion.dto';
import { ChatCompletionDto } from './dto/chat-completion-response.dto';
import { OpenAiErrorFilter, openAiError } from './openai-error.filter';

export const SESSION_HEADER = 'X-Codex-Session-Id';

@ApiTags('openai')
@UseFilters(OpenAiErrorFilter)
@Controller('v1/chat')
export class ChatCompletionsController {
  constructor(
    private readonly chat: ChatCompletionsService,
    private readonly debug: DebugLog,
    private readonly metrics: MetricsService,
    @Inject(serverConfig.KEY) private readonly server: ConfigType<typeof serverConfig>,
  ) {}

  @Post('completions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'OpenAI Chat Completions (stream and non-stream), answered by a codex turn.',
    description:
      `Every response carries ${SESSION_HEADER} (the codex thread); send it back to continue that thread with only the new ` +
      'messages. Extension: "codex_events": true adds reasoning_content deltas and codex_event fields for commands and file changes.',
  })
  @ApiHeader({ name: SESSION_HEADER, required: false, description: 'Continue this codex thread.' })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: ChatCompletionDto })
  async create(
    @Ctx() ctx: RequestContext,
    @Body() dto: ChatCompletionRequestDto,
    @Headers('x-codex-session-id') sessionId: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    this.debug.write(ctx.requestId, 'chat request', dto);
    const chat = await this.chat.prepare(ctx.tenant, dto, sessionId?.trim() || null);
    if (chat.threadId) res.setHeader(SESSION_HEADER, chat.threadId);
    const context = {
      id: chat.id,
      created: chat.created,
      model: chat.model,
      includeUsage: dto.stream_options?.include_usage === true,
      codexEvents: dto.codex_events === true,
      stripAnswerTags: this.server.stripAnswerTags,
    };
    const observed = this.metrics.observeTurn({
      protocol: 'openai_chat',
      tenant: ctx.tenant,
      requestId: ctx.requestId,
    });
    const threadSeen = tap((event: CodexEvent) => {
      this.debug.write(ctx.requestId, 'codex event', event);
      // The exec backend learns its thread id from the run itself.
      if (event.type === 'thread.started' && !res.headersSent) res.setHeader(SESSION_HEADER, event.threadId);
    });
    if (dto.stream) {
      const mapper = new ChatChunkMapper(context);
      await writeSse(
        res,
        chat.events$.pipe(
          observed,
          threadSeen,
          concatMap((event) => from(mapper.map(event))),
          map((chunk) => ({ data: chunk })),
        ),
        {
          terminator: 'data: [DONE]\n\n',
          errorMessage: (error) => ({ data: openAiError(describeFailure(error), ctx.requestId) }),
        },
      );
      return;
    }
    const events = await lastValueFrom(chat.events$.pipe(observed, threadSeen, untilClientGone(res), toArray()));
    if (res.destroyed || res.writableEnded) return;
    const completion = toChatCompletion(context, events, String(res.getHeader(SESSION_HEADER) ?? ''));
    this.debug.write(ctx.requestId, 'chat response', completion);
    res.status(200).json(completion);
  }
}
