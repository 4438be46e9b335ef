import { Body, Controller, Headers, HttpCode, Inject, Post, Res } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { tap } from 'rxjs';
import { DebugLog } from '../common/logging/debug-log';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { sendTurn } from '../common/turn/send-turn';
import { serverConfig } from '../config/gateway.config';
import { ChatCompletionsService, SESSION_HEADER } from './chat-completions.service';
import { chatCompletionsWire } from './chat-completions.wire';
import { ChatCompletionRequestDto } from './dto/chat-completion.dto';
import { ChatCompletionDto } from './dto/chat-completion-response.dto';
import { ChatMessagesPipe, type ChatPrompt } from './input/chat-messages.pipe';
import { TOOL_RESULTS_HEADER } from './tools/tool-results-path';
import type { TurnEvent } from './tools/tool-turn';

@ApiTags('openai')
@Controller('v1/chat')
export class ChatCompletionsController {
  constructor(
    private readonly chat: ChatCompletionsService,
    private readonly debug: DebugLog,
    @Inject(serverConfig.KEY) private readonly server: ConfigType<typeof serverConfig>,
  ) {}

  @Post('completions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'OpenAI Chat Completions (stream and non-stream), answered by a codex turn.',
    description:
      `Every response carries ${SESSION_HEADER} (the codex thread); send it back to continue that thread with only the new ` +
      'messages, or choose one yourself (1–128 letters, digits, . _ : -): the first request with it starts the session. ' +
      'Function tools: a call ends the response with tool_calls while the codex turn waits; the tool messages continue it ' +
      '(X-Codex-Tool-Results: resumed, or replayed when no turn waited). ' +
      'Extension: "codex_events": true adds reasoning_content deltas and codex_event fields for commands and file changes.',
  })
  @ApiHeader({ name: SESSION_HEADER, required: false, description: 'Continue (or start) this session.' })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: ChatCompletionDto })
  async create(
    @Ctx() ctx: RequestContext,
    @Body() dto: ChatCompletionRequestDto,
    @Body('messages', ChatMessagesPipe) conversation: ChatPrompt,
    @Headers('x-codex-session-id') sessionId: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    this.debug.write(ctx.requestId, 'chat request', dto);
    const chat = await this.chat.prepare(ctx, dto, conversation, sessionId?.trim() || null);
    let thread = chat.threadId;
    const session = chat.sessionId ?? thread;
    if (session) res.setHeader(SESSION_HEADER, session);
    if (chat.toolResults) res.setHeader(TOOL_RESULTS_HEADER, chat.toolResults);
    const events$ = chat.events$.pipe(
      tap((event: TurnEvent) => {
        this.debug.write(ctx.requestId, 'codex event', event);
        // The exec backend learns its thread id from the run itself.
        if (event.type !== 'thread.started') return;
        thread = event.threadId;
        if (!session && !res.headersSent) res.setHeader(SESSION_HEADER, event.threadId);
      }),
    );
    const context = {
      id: chat.id,
      created: chat.created,
      model: chat.model,
      includeUsage: dto.stream_options?.include_usage === true,
      codexEvents: dto.codex_events === true,
      stripAnswerTags: this.server.stripAnswerTags,
      format: chat.format,
      forced: chat.forced,
    };
    const wire = chatCompletionsWire(context, () => thread ?? '', ctx.requestId);
    const completion = await sendTurn(res, events$, wire, dto.stream === true);
    if (completion) this.debug.write(ctx.requestId, 'chat response', completion);
  }
}
