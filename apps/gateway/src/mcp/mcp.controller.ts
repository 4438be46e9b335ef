import { Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { McpSessions } from './mcp-sessions';

const DESCRIPTION =
  'MCP Streamable HTTP (protocol revisions up to 2025-11-25, the official MCP SDK): POST JSON-RPC messages ' +
  '(`initialize` first; the answer carries `Mcp-Session-Id`, send it with every later request), GET for the ' +
  "server's own stream, DELETE to end the session. Tools: `codex` (prompt, cwd, model, approval-policy, sandbox, " +
  'base-instructions, developer-instructions), `codex-reply` (threadId or conversationId, prompt), ' +
  '`codex-interrupt` (threadId). Not a REST resource: use an MCP client.';

@ApiTags('mcp')
@Controller('mcp')
export class McpController {
  constructor(private readonly sessions: McpSessions) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'MCP: a client message (JSON-RPC); the answer is JSON or an SSE stream.',
    description: DESCRIPTION,
  })
  @ApiResponse({ status: 200, description: 'The JSON-RPC answer (application/json or text/event-stream).' })
  async post(@Ctx() ctx: RequestContext, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sessions.handle(ctx.tenant, req, res);
  }

  @Get()
  @ApiOperation({ summary: "MCP: the server's stream of a session (SSE).", description: DESCRIPTION })
  @ApiResponse({ status: 200, description: 'text/event-stream' })
  async stream(@Ctx() ctx: RequestContext, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sessions.handle(ctx.tenant, req, res);
  }

  @Delete()
  @ApiOperation({ summary: 'MCP: end a session.', description: DESCRIPTION })
  @ApiResponse({ status: 200, description: 'The session is closed.' })
  async end(@Ctx() ctx: RequestContext, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sessions.handle(ctx.tenant, req, res);
  }
}
