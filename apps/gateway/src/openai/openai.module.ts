import { Module } from '@nestjs/common';
import { DebugLog } from '../common/logging/debug-log';
import { WorkspaceModule } from '../common/workspace/workspace.module';
import { ChatCompletionsController } from './chat-completions.controller';
import { ChatCompletionsService } from './chat-completions.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

/** The OpenAI-compatible surface: Chat Completions and Models. */
@Module({
  imports: [WorkspaceModule],
  controllers: [ChatCompletionsController, ModelsController],
  providers: [ChatCompletionsService, ModelsService, DebugLog],
})
export class OpenAiModule {}
