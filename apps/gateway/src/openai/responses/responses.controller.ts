import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { map, type Observable } from 'rxjs';
import { DebugLog } from '../../common/logging/debug-log';
import { Ctx, type RequestContext } from '../../common/request-context/request-context';
import { wantsEventStream, writeSse } from '../../common/sse/sse-writer';
import { OpenAiErrorFilter } from '../openai-error.filter';
import { CreateResponseDto } from './dto/create-response.dto';
import { DeletedResponseDto, InputItemListDto, ResponseObjectDto } from './dto/response-object.dto';
import type { ResponseStreamEvent } from './response-builder';
import { type LiveResponse, ResponsesService } from './responses.service';

function sse(events: Observable<ResponseStreamEvent>) {
  return events.pipe(map((event) => ({ event: event.type, data: event })));
}

function intParam(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new BadRequestException(`${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

@ApiTags('openai')
@UseFilters(OpenAiErrorFilter)
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
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    this.debug.write(ctx.requestId, 'responses request', dto);
    const live = await this.responses.create(ctx.tenant, dto, ctx.requestId);
    if (wantsEventStream(req, dto.stream)) {
      await this.stream(res, live.eventsAfter(-1), live);
      return;
    }
    if (live.background) {
      res.status(200).json(live.builder.snapshot());
      return;
    }
    res.on('close', () => {
      if (!res.writableEnded) this.responses.abandon(live);
    });
    const response = await live.done;
    if (res.destroyed || res.writableEnded) return;
    this.debug.write(ctx.requestId, 'responses response', response);
    // The turn failed: an HTTP error the SDK raises (the failed response stays retrievable).
    if (response.status === 'failed' && live.failure) throw live.failure;
    res.status(200).json(response);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a response; ?stream=true&starting_after=N replays its events after N.' })
  @ApiQuery({ name: 'stream', required: false, type: Boolean })
  @ApiQuery({ name: 'starting_after', required: false, type: Number })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    type: ResponseObjectDto,
    description: 'The Response object; with `stream=true` its events after `starting_after`.',
  })
  async retrieve(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Query('stream') stream: string | undefined,
    @Query('starting_after') startingAfter: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    if (stream === 'true') {
      const after = intParam(startingAfter, 'starting_after', -1, -1, Number.MAX_SAFE_INTEGER);
      await this.stream(res, await this.responses.replay(ctx.tenant, id, after), null);
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
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'after', required: false, type: String })
  @ApiOkResponse({ type: InputItemListDto })
  async inputItems(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Query('order') order: string | undefined,
    @Query('limit') limitParam: string | undefined,
    @Query('after') after: string | undefined,
  ) {
    if (order !== undefined && order !== 'asc' && order !== 'desc')
      throw new BadRequestException('order must be asc or desc');
    const limit = intParam(limitParam, 'limit', 20, 1, 100);
    const items = await this.responses.inputItems(ctx.tenant, id);
    const ordered = order === 'asc' ? [...items] : [...items].reverse();
    const start = after ? ordered.findIndex((item) => item.id === after) + 1 : 0;
    const page = ordered.slice(start, start + limit);
    return {
      object: 'list',
      data: page,
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
      has_more: start + limit < ordered.length,
    };
  }

  private async stream(
    res: Response,
    events: Observable<ResponseStreamEvent>,
    owner: LiveResponse | null,
  ): Promise<void> {
    await writeSse(res, sse(events));
    // The client went away before the end: the response it started stops with it.
    if (owner && !owner.finished) this.responses.abandon(owner);
  }
}
