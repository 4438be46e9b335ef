import { Module } from '@nestjs/common';
import { DebugLog } from '../common/logging/debug-log';
import { WorkspaceModule } from '../common/workspace/workspace.module';
import { ChatCompletionsController } from './chat-completions.controller';
import { ChatCompletionsService } from './chat-completions.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';
import { ResponsesController } from './responses/responses.controller';
import { ResponsesService } from './responses/responses.service';
import { ResponseThreads } from './responses/response-threads';
import { ResponsesStore } from './responses/responses.store';
import { ToolTurns } from './tools/tool-turns';
import { ChatSessionsStore } from './chat-sessions.store';

/** The OpenAI-compatible surface: Chat Completions, Responses and Models. */
@Module({
  imports: [WorkspaceModule],
  controllers: [ChatCompletionsController, ModelsController, ResponsesController],
  providers: [
    ChatCompletionsService,
    ModelsService,
    DebugLog,
    ResponsesService,
    ResponsesStore,
    ResponseThreads,
    ToolTurns,
    ChatSessionsStore,
  ],
})
export class OpenAiModule {}
