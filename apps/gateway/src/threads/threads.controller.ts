import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import {
  ForkThreadDto,
  ListThreadsDto,
  ReadThreadDto,
  ResumeThreadDto,
  StartThreadDto,
} from './dto/thread-request.dto';
import { ThreadListDto, ThreadReadDto, ThreadSessionDto } from './dto/thread-response.dto';
import { ThreadsService } from './threads.service';

@ApiTags('app-server: threads')
@Controller('api/thread')
export class ThreadsController {
  constructor(private readonly threads: ThreadsService) {}

  @Post('start')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start a thread (a conversation with its own history and settings).' })
  @ApiOkResponse({ type: ThreadSessionDto })
  start(@Ctx() ctx: RequestContext, @Body() dto: StartThreadDto): Promise<ThreadSessionDto> {
    return this.threads.start(ctx.tenant, dto);
  }

  @Post('resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Load a thread again, optionally with new settings; returns it with its turns.' })
  @ApiOkResponse({ type: ThreadSessionDto })
  resume(@Ctx() ctx: RequestContext, @Body() dto: ResumeThreadDto): Promise<ThreadSessionDto> {
    return this.threads.resume(ctx.tenant, dto);
  }

  @Post('read')
  @HttpCode(200)
  @ApiOperation({ summary: 'Read a thread, with every turn and item when includeTurns is true.' })
  @ApiOkResponse({ type: ThreadReadDto })
  read(@Ctx() ctx: RequestContext, @Body() dto: ReadThreadDto): Promise<ThreadReadDto> {
    return this.threads.read(ctx.tenant, dto);
  }

  @Post('fork')
  @HttpCode(200)
  @ApiOperation({ summary: 'Copy a thread (up to lastTurnId) into a new one; the original is untouched.' })
  @ApiOkResponse({ type: ThreadSessionDto })
  fork(@Ctx() ctx: RequestContext, @Body() dto: ForkThreadDto): Promise<ThreadSessionDto> {
    return this.threads.fork(ctx.tenant, dto);
  }

  @Post('list')
  @HttpCode(200)
  @ApiOperation({ summary: "List the caller's threads, newest first, a page at a time." })
  @ApiOkResponse({ type: ThreadListDto })
  list(@Ctx() ctx: RequestContext, @Body() dto: ListThreadsDto): Promise<ThreadListDto> {
    return this.threads.list(ctx.tenant, dto);
  }
}
