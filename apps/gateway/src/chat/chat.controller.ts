import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { concatMap, lastValueFrom, toArray } from 'rxjs';
import type { CodexEvent } from '@app/codex-transport';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../common/auth/auth.guard';
import { TurnFailedError } from '../common/errors/gateway-error';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { untilClientGone } from '../common/sse/client-gone';
import { type SseMessage, writeSse } from '../common/sse/sse-writer';
import { turnErrorEvent } from '../turns/turn-events';
import { foldTurn } from '../turns/turn-result.mapper';
import { MetricsService } from '../metrics/metrics.service';
import { ChatService } from './chat.service';
import {
  ChatRequestDto,
  ChatResponseDto,
  HistoryQueryDto,
  HistoryResponseDto,
  StatusResponseDto,
  ThreadsQueryDto,
  ThreadsResponseDto,
} from './dto/chat.dto';

@ApiTags('chat')
@Controller()
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    private readonly metrics: MetricsService,
  ) {}

  @Post('chat')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Send a message: a new conversation, or the next turn of thread_id. SSE by default; JSON with "stream": false.',
    description:
      'SSE: `session` {type, thread_id} first, then the turn events (turn.started, item.started, item.delta with the text ' +
      'deltas, item.completed, approval.requested, usage, turn.completed …) each as `event: <name>`, then `data: [DONE]`. ' +
      'A client that disconnects interrupts the turn.',
  })
  @ApiProduces('text/event-stream', 'application/json')
  @ApiOkResponse({ type: ChatResponseDto })
  async send(@Ctx() ctx: RequestContext, @Body() dto: ChatRequestDto, @Res() res: Response): Promise<void> {
    const prepared = await this.chat.prepare(ctx.tenant, dto);
    const threadId = prepared.threadId;
    const events$ = prepared.events$.pipe(
      this.metrics.observeTurn({ protocol: 'chat', tenant: ctx.tenant, requestId: ctx.requestId }),
    );
    if (dto.stream !== false) {
      const session: SseMessage = { event: 'session', data: { type: 'session', thread_id: threadId } };
      await writeSse(
        res,
        events$.pipe(
          // The session event goes out with the first turn event, so a turn that cannot start still gets an HTTP status.
          concatMap((event: CodexEvent, i) => {
            const message = { event: event.type, data: event };
            return i === 0 ? [session, message] : [message];
          }),
        ),
        {
          terminator: 'data: [DONE]\n\n',
          errorMessage: (error) => ({ event: 'error', data: turnErrorEvent(threadId, error) }),
        },
      );
      return;
    }
    const events = await lastValueFrom(events$.pipe(untilClientGone(res), toArray()));
    if (res.destroyed || res.writableEnded) return;
    const turn = foldTurn(threadId, events);
    if (turn.status === 'failed' && turn.error) throw new TurnFailedError(turn.error, { thread_id: threadId });
    const messages = turn.items.filter((item) => item.type === 'agentMessage');
    res.status(200).json({
      thread_id: threadId,
      turn_id: turn.id,
      status: turn.status,
      response: String(messages.at(-1)?.text ?? ''),
      items: turn.items,
      usage: turn.usage as Record<string, number> | null,
    } satisfies ChatResponseDto);
  }

  @Get('threads')
  @ApiOperation({ summary: "The caller's conversations, newest first." })
  @ApiOkResponse({ type: ThreadsResponseDto })
  threads(@Ctx() ctx: RequestContext, @Query() query: ThreadsQueryDto): Promise<ThreadsResponseDto> {
    return this.chat.threads(ctx.tenant, query.limit, query.cursor);
  }

  @Get('history')
  @ApiOperation({ summary: 'One conversation: its messages in order with roles, and its turns with every item.' })
  @ApiOkResponse({ type: HistoryResponseDto })
  history(@Ctx() ctx: RequestContext, @Query() query: HistoryQueryDto): Promise<HistoryResponseDto> {
    return this.chat.history(ctx.tenant, query.thread_id);
  }

  @Get('status')
  @Public()
  @SkipThrottle()
  @ApiOperation({
    summary: 'Status: codex available and its version (read once), whether a provider key is configured.',
  })
  @ApiOkResponse({ type: StatusResponseDto })
  status(): Promise<StatusResponseDto> {
    return this.chat.status();
  }
}
