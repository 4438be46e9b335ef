import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../common/auth/auth.guard';
import { CodexHealthIndicator } from './codex.health';
import { HealthStatusDto, ServiceHealthDto } from './dto/health-status.dto';

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly codex: CodexHealthIndicator,
  ) {}

  @Get('health/live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the gateway process answers.' })
  live() {
    return this.health.check([]);
  }

  @Get('health/ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: not draining, codex binary present, a codex process initializes, data dir writable.',
  })
  @ApiServiceUnavailableResponse({ description: 'codex cannot serve right now, or the gateway is shutting down.' })
  ready() {
    return this.health.check([
      () => this.codex.accepting(),
      () => this.codex.dataDir(),
      () => this.codex.isolation(),
      () => this.codex.codex(),
    ]);
  }

  @Get('health')
  @ApiOperation({ summary: 'Compatibility health check.' })
  @ApiOkResponse({ type: HealthStatusDto })
  getHealth(): HealthStatusDto {
    return { status: 'healthy' };
  }

  @Post('health')
  @HttpCode(200)
  @ApiOperation({ summary: 'Compatibility health check (POST form).' })
  @ApiOkResponse({ type: ServiceHealthDto })
  postHealth(): ServiceHealthDto {
    return { status: 'healthy', service: 'codex-gateway' };
  }

  @Get('healthz')
  @ApiOperation({ summary: 'Compatibility health check for OpenAI-style clients.' })
  @ApiOkResponse({ description: 'Always `{"status":"ok"}`.', type: HealthStatusDto })
  healthz(): HealthStatusDto {
    return { status: 'ok' };
  }
}
