import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../common/auth/auth.guard';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { sendTurn } from '../common/turn/send-turn';
import { ChatService } from './chat.service';
import { chatWire } from './chat.wire';
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
  constructor(private readonly chat: ChatService) {}

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
    const { threadId, events$ } = await this.chat.prepare(ctx, dto);
    await sendTurn(res, events$, chatWire(threadId), dto.stream !== false);
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
