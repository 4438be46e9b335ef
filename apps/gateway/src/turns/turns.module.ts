import { Module } from '@nestjs/common';
import { WorkspaceModule } from '../common/workspace/workspace.module';
import { TurnsController } from './turns.controller';
import { TurnsService } from './turns.service';

@Module({
  imports: [WorkspaceModule],
  controllers: [TurnsController],
  providers: [TurnsService],
})
export class TurnsModule {}
