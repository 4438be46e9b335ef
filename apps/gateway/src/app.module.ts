import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_FILTER, APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { AgentStreamModule } from './agent-stream/agent-stream.module';
import { AuthGuard } from './common/auth/auth.guard';
import { AuthModule } from './common/auth/auth.module';
import { ApprovalsModule } from './approvals/approvals.module';
import { ChatModule } from './chat/chat.module';
import { CodexModule } from './codex/codex.module';
import { parseEnvironment } from './config/environment';
import { ALL_CONFIG } from './config/gateway.config';
import { HttpErrorFilter } from './common/filters/http-error.filter';
import { DrainMiddleware } from './common/lifecycle/drain.service';
import { LifecycleModule } from './common/lifecycle/lifecycle.module';
import { TenantThrottlerGuard } from './common/rate-limit/tenant-throttler.guard';
import { HttpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { MetricsModule } from './metrics/metrics.module';
import { RequestContextMiddleware } from './common/request-context/request-context';
import { HealthModule } from './health/health.module';
import { McpModule } from './mcp/mcp.module';
import { ReplicaRouter } from './replicas/replica-router';
import { ReplicasModule } from './replicas/replicas.module';
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
    ThrottlerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => {
        const limit = config.getOrThrow<number>('server.rateLimitPerMinute');
        return { throttlers: [{ name: 'default', ttl: 60_000, limit: Math.max(limit, 1) }], skipIf: () => limit === 0 };
      },
    }),
    // Lets the OpenAPI document read each route's auth metadata.
    DiscoveryModule,
    AuthModule,
    LifecycleModule,
    ReplicasModule,
    MetricsModule,
    CodexModule,
    HealthModule,
    ThreadsModule,
    TurnsModule,
    McpModule,
    SkillsModule,
    ApprovalsModule,
    OpenAiModule,
    ChatModule,
    AgentStreamModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: HttpErrorFilter },
    // In this order: the rate limit counts per tenant, so it runs after authentication.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: TenantThrottlerGuard },
  ],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Last: a request for a tenant another replica owns is forwarded there once it is known to be acceptable here.
    consumer.apply(RequestContextMiddleware, HttpMetricsMiddleware, DrainMiddleware, ReplicaRouter).forRoutes('*');
  }
}
