import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { lastValueFrom, map, toArray } from 'rxjs';
import type { CodexEvent } from '@app/codex-transport';
import { TurnFailedError } from '../common/errors/gateway-error';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { untilClientGone } from '../common/sse/client-gone';
import { wantsEventStream, writeSse } from '../common/sse/sse-writer';
import { InterruptTurnDto, StartTurnDto } from './dto/start-turn.dto';
import { InterruptResponseDto, TurnResponseDto } from './dto/turn-response.dto';
import { foldTurn } from './turn-result.mapper';
import { MetricsService } from '../metrics/metrics.service';
import { TurnsService } from './turns.service';
import { turnErrorEvent } from './turn-events';

@ApiTags('app-server: turns')
@Controller('api/turn')
export class TurnsController {
  constructor(
    private readonly turns: TurnsService,
    private readonly metrics: MetricsService,
  ) {}

  @Post('start')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Run a turn. Waits for the turn to end, or streams its events with stream:true / Accept: text/event-stream.',
    description:
      'SSE events are named after the normalized events (turn.started, item.started, item.delta, item.completed, ' +
      'approval.requested, approval.resolved, usage, warning, error, turn.completed), each with its JSON in data. ' +
      'A client that disconnects interrupts the turn. A thread that is already running a turn answers 409.',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: TurnResponseDto })
  async start(
    @Ctx() ctx: RequestContext,
    @Body() dto: StartTurnDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const events$ = this.turns
      .prepare(ctx.tenant, dto)
      .pipe(this.metrics.observeTurn({ protocol: 'rest', tenant: ctx.tenant, requestId: ctx.requestId }));
    if (wantsEventStream(req, dto.stream)) {
      await writeSse(res, events$.pipe(map((event: CodexEvent) => ({ event: event.type, data: event }))), {
        errorMessage: (error) => ({ event: 'error', data: turnErrorEvent(dto.threadId, error) }),
      });
      return;
    }
    const events = await lastValueFrom(events$.pipe(untilClientGone(res), toArray()));
    if (res.destroyed || res.writableEnded) return; // the client left; its turn was interrupted
    const turn = foldTurn(dto.threadId, events);
    if (turn.status === 'failed' && turn.error) throw new TurnFailedError(turn.error, { turn });
    res.status(200).json({ turn } satisfies TurnResponseDto);
  }

  @Post('interrupt')
  @HttpCode(200)
  @ApiOperation({ summary: "Interrupt the thread's running turn; it ends with status interrupted." })
  @ApiOkResponse({ type: InterruptResponseDto })
  interrupt(@Ctx() ctx: RequestContext, @Body() dto: InterruptTurnDto): Promise<InterruptResponseDto> {
    return this.turns.interrupt(ctx.tenant, dto);
  }
}
