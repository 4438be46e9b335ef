import {
  type ArgumentsHost,
  Catch,
  Controller,
  Delete,
  Get,
  HttpCode,
  Post,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { describeFailure } from '../common/errors/failure';
import { HttpErrorFilter } from '../common/filters/http-error.filter';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { McpSessions } from './mcp-sessions';

/** The gateway's errors, and on a 401 the `WWW-Authenticate` challenge MCP clients look for (RFC 6750). */
@Catch()
export class McpErrorFilter extends HttpErrorFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (describeFailure(exception).status === 401 && !res.headersSent) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="codex-gateway"');
    }
    super.catch(exception, host);
  }
}

const DESCRIPTION =
  'MCP Streamable HTTP (protocol revisions up to 2025-11-25, the official MCP SDK): POST JSON-RPC messages ' +
  '(`initialize` first; the answer carries `Mcp-Session-Id`, send it with every later request), GET for the ' +
  "server's own stream, DELETE to end the session. Tools: `codex` (prompt, cwd, model, approval-policy, sandbox, " +
  'base-instructions, developer-instructions), `codex-reply` (threadId or conversationId, prompt), ' +
  '`codex-interrupt` (threadId). Not a REST resource: use an MCP client.';

@ApiTags('mcp')
@UseFilters(McpErrorFilter)
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
