import { accessSync, constants, mkdirSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppServerTransport } from '@app/codex-transport';
import { DrainService } from '../common/lifecycle/drain.service';
import { tenancyConfig } from '../config/gateway.config';

/** Readiness facts: the codex binary exists, a codex process initializes, the data dir is writable. */
@Injectable()
export class CodexHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly transport: AppServerTransport,
    private readonly drainService: DrainService,
    @Inject(tenancyConfig.KEY) private readonly tenancy: ConfigType<typeof tenancyConfig>,
  ) {}

  async codex(key = 'codex') {
    const indicator = this.health.check(key);
    if (this.drainService.draining) return indicator.down({ message: 'shutting down' });
    try {
      await this.transport.checkHealth();
      return indicator.up({ binary: 'found', process: 'initialized' });
    } catch (error) {
      return indicator.down({ message: publicReason(error) });
    }
  }

  /** Down from the moment a drain starts, so the load balancer stops sending work here. */
  accepting(key = 'accepting') {
    const indicator = this.health.check(key);
    return this.drainService.draining ? indicator.down({ draining: true }) : indicator.up({ draining: false });
  }

  dataDir(key = 'dataDir') {
    const indicator = this.health.check(key);
    try {
      mkdirSync(this.tenancy.baseDataDir, { recursive: true });
      accessSync(this.tenancy.baseDataDir, constants.W_OK);
      return indicator.up({ writable: true });
    } catch {
      return indicator.down({ writable: false });
    }
  }
}

/** A reason safe to show on an open probe (no paths, no stderr). */
function publicReason(error: unknown): string {
  const code = (error as { code?: string })?.code;
  if (code === 'BINARY_NOT_FOUND') return 'codex binary not found';
  if (code === 'START_FAILED') return 'codex process failed to initialize';
  if (code === 'SHUTTING_DOWN') return 'shutting down';
  return 'codex unavailable';
}
