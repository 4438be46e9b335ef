import { Module } from '@nestjs/common';
import { WorkspaceModule } from '../common/workspace/workspace.module';
import { AgentSessionsStore } from './agent-sessions.store';
import { AgentStreamServer } from './agent-stream.server';

/** The HTTP/2 agent stream (`POST /agent/stream` on its own listener). */
@Module({
  imports: [WorkspaceModule],
  providers: [AgentStreamServer, AgentSessionsStore],
  exports: [AgentStreamServer],
})
export class AgentStreamModule {}
