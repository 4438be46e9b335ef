import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AgentStreamModule } from './agent-stream/agent-stream.module';
import { AuthGuard } from './common/auth/auth.guard';
import { AuthModule } from './common/auth/auth.module';
import { ApprovalsModule } from './approvals/approvals.module';
import { ChatModule } from './chat/chat.module';
import { CodexModule } from './codex/codex.module';
import { parseEnvironment } from './config/environment';
import { ALL_CONFIG } from './config/gateway.config';
import { HttpErrorFilter } from './common/filters/http-error.filter';
import { RequestContextMiddleware } from './common/request-context/request-context';
import { HealthModule } from './health/health.module';
import { OpenAiModule } from './openai/openai.module';
import { SkillsModule } from './skills/skills.module';
import { ThreadsModule } from './threads/threads.module';
import { TurnsModule } from './turns/turns.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      // Configuration comes from the environment only (compose and Kubernetes set it there).
      ignoreEnvFile: true,
      load: ALL_CONFIG,
      // Validate the whole environment once, up front: one error listing every bad variable.
      validate: (raw) => {
        parseEnvironment(raw as NodeJS.ProcessEnv);
        return raw;
      },
    }),
    AuthModule,
    CodexModule,
    HealthModule,
    ThreadsModule,
    TurnsModule,
    SkillsModule,
    ApprovalsModule,
    OpenAiModule,
    ChatModule,
    AgentStreamModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: HttpErrorFilter },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestContextMiddleware).forRoutes('*');
  }
}
