import { TOOL_RESULTS_HEADER } from '../tools/tool-results-path';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { map } from 'rxjs';
import { DebugLog } from '../../common/logging/debug-log';
import { Ctx, type RequestContext } from '../../common/request-context/request-context';
import { wantsEventStream, writeSse } from '../../common/sse/sse-writer';
import { sendTurn } from '../../common/turn/send-turn';
import { ResponseInputPipe } from '../input/response-input.pipe';
import { CreateResponseDto } from './dto/create-response.dto';
import { DeletedResponseDto, InputItemListDto, ResponseObjectDto } from './dto/response-object.dto';
import { InputItemsQueryDto, RetrieveResponseQueryDto } from './dto/response-query.dto';
import { ResponsesService } from './responses.service';
import type { InputItem } from './responses.store';
import { responseEventMessage, responsesWire } from './responses.wire';

@ApiTags('openai')
@Controller('v1/responses')
export class ResponsesController {
  constructor(
    private readonly responses: ResponsesService,
    private readonly debug: DebugLog,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'OpenAI Responses: create a response (a codex turn), streamed or not.',
    description:
      'previous_response_id continues the conversation (branching when it names an older response), instructions apply to ' +
      'this response, store:false keeps nothing, background:true returns at once. Codex activity appears as codex_* output items.',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    type: ResponseObjectDto,
    description: 'The Response object; with `stream` the response events as server-sent events.',
  })
  async create(
    @Ctx() ctx: RequestContext,
    @Body() dto: CreateResponseDto,
    @Body('input', ResponseInputPipe) input: InputItem[],
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    this.debug.write(ctx.requestId, 'responses request', dto);
    const run = await this.responses.create(ctx, dto, input);
    if (run.toolResults) res.setHeader(TOOL_RESULTS_HEADER, run.toolResults);
    const stream = wantsEventStream(req, dto.stream);
    if (run.background && !stream) {
      res.status(200).json(run.snapshot());
      return;
    }
    const response = await sendTurn(res, run.stream(), responsesWire(run), stream);
    if (response) this.debug.write(ctx.requestId, 'responses response', response);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a response; ?stream=true&starting_after=N replays its events after N.' })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    type: ResponseObjectDto,
    description: 'The Response object; with `stream=true` its events after `starting_after`.',
  })
  async retrieve(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Query() query: RetrieveResponseQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    if (query.stream) {
      const events = await this.responses.replay(ctx.tenant, id, query.starting_after ?? -1);
      await writeSse(res, events.pipe(map(responseEventMessage)));
      return;
    }
    res.status(200).json(await this.responses.retrieve(ctx.tenant, id));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a stored response (a running one is cancelled first).' })
  @ApiOkResponse({ type: DeletedResponseDto })
  remove(@Ctx() ctx: RequestContext, @Param('id') id: string) {
    return this.responses.delete(ctx.tenant, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a response in progress: its turn is interrupted; returns it with status "cancelled".',
  })
  @ApiOkResponse({ type: ResponseObjectDto })
  cancel(@Ctx() ctx: RequestContext, @Param('id') id: string) {
    return this.responses.cancel(ctx.tenant, id);
  }

  @Get(':id/input_items')
  @ApiOperation({
    summary: "A response's input items (order desc by default; limit 1-100, default 20; after = an item id).",
  })
  @ApiOkResponse({ type: InputItemListDto })
  inputItems(@Ctx() ctx: RequestContext, @Param('id') id: string, @Query() query: InputItemsQueryDto) {
    return this.responses.inputItems(ctx.tenant, id, query);
  }
}
