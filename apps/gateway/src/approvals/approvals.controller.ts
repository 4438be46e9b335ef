import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppServerTransport, type ApprovalRequest } from '@app/codex-transport';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import {
  AnswerApprovalDto,
  ApprovalAnswerResponseDto,
  ApprovalDto,
  ApprovalListDto,
  ListApprovalsQueryDto,
} from './dto/approval.dto';

function toDto(a: ApprovalRequest, now: number): ApprovalDto {
  return {
    id: a.id,
    kind: a.kind,
    threadId: a.threadId,
    turnId: a.turnId,
    itemId: a.itemId,
    command: a.command,
    cwd: a.cwd,
    reason: a.reason,
    availableDecisions: a.availableDecisions,
    createdAt: new Date(a.createdAt).toISOString(),
    ageSeconds: Math.floor((now - a.createdAt) / 1000),
  };
}

@ApiTags('app-server: approvals')
@Controller('api/approvals')
export class ApprovalsController {
  constructor(private readonly transport: AppServerTransport) {}

  @Get()
  @ApiOperation({ summary: "The caller's approvals that codex is waiting on, oldest first." })
  @ApiOkResponse({ type: ApprovalListDto })
  list(@Ctx() ctx: RequestContext, @Query() query: ListApprovalsQueryDto): ApprovalListDto {
    const now = Date.now();
    return { data: this.transport.listApprovals(ctx.tenant, query.threadId).map((a) => toDto(a, now)) };
  }

  @Post(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Answer an approval; the waiting turn continues at once.' })
  @ApiOkResponse({ type: ApprovalAnswerResponseDto })
  @ApiNotFoundResponse({ description: 'No such approval (or not yours).' })
  @ApiConflictResponse({ description: 'Already answered, timed out, or its turn ended.' })
  answer(
    @Ctx() ctx: RequestContext,
    @Param('id') id: string,
    @Body() dto: AnswerApprovalDto,
  ): ApprovalAnswerResponseDto {
    this.transport.respondToApproval(ctx.tenant, id, dto.decision);
    return { id, decision: dto.decision, status: 'resolved' };
  }
}
