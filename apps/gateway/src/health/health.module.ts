import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CodexHealthIndicator } from './codex.health';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [CodexHealthIndicator],
})
export class HealthModule {}
