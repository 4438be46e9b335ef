import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { wantsEventStream } from '../common/sse/sse-writer';
import { sendTurn } from '../common/turn/send-turn';
import { InterruptTurnDto, StartTurnDto } from './dto/start-turn.dto';
import { InterruptResponseDto, TurnResponseDto } from './dto/turn-response.dto';
import { restTurnWire } from './turn.wire';
import { TurnsService } from './turns.service';

@ApiTags('app-server: turns')
@Controller('api/turn')
export class TurnsController {
  constructor(private readonly turns: TurnsService) {}

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
    const events$ = this.turns.prepare(ctx, dto);
    await sendTurn(res, events$, restTurnWire(dto.threadId), wantsEventStream(req, dto.stream));
  }

  @Post('interrupt')
  @HttpCode(200)
  @ApiOperation({ summary: "Interrupt the thread's running turn; it ends with status interrupted." })
  @ApiOkResponse({ type: InterruptResponseDto })
  interrupt(@Ctx() ctx: RequestContext, @Body() dto: InterruptTurnDto): Promise<InterruptResponseDto> {
    return this.turns.interrupt(ctx.tenant, dto);
  }
}
