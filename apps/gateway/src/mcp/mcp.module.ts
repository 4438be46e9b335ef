import { Module } from '@nestjs/common';
import { WorkspaceModule } from '../common/workspace/workspace.module';
import { CodexTools } from './codex-tools';
import { McpController } from './mcp.controller';
import { McpSessions } from './mcp-sessions';

/** Codex as a remote MCP server (Streamable HTTP at `/mcp`), one more adapter on the tenant's codex. */
@Module({
  imports: [WorkspaceModule],
  controllers: [McpController],
  providers: [CodexTools, McpSessions],
})
export class McpModule {}
