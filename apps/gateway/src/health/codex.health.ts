import { accessSync, constants, mkdirSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppServerTransport } from '@app/codex-transport';
import { DrainService } from '../common/lifecycle/drain.service';
import { publicReason } from '../common/errors/codex-error-status';
import { TenantIsolationState } from '../codex/tenant-isolation';
import { tenancyConfig } from '../config/gateway.config';

/** Readiness facts: the codex binary exists, a codex process initializes, the data dir is writable. */
@Injectable()
export class CodexHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly transport: AppServerTransport,
    private readonly drainService: DrainService,
    private readonly tenantIsolation: TenantIsolationState,
    @Inject(tenancyConfig.KEY) private readonly tenancy: ConfigType<typeof tenancyConfig>,
  ) {}

  async codex(key = 'codex') {
    const indicator = this.health.check(key);
    if (this.drainService.draining) return indicator.down({ message: 'shutting down' });
    try {
      await this.transport.checkHealth();
      return indicator.up({ binary: 'found', process: 'initialized' });
    } catch (error) {
      return indicator.down(downDetails(error));
    }
  }

  /** How tenants' agents are kept apart: informs, never fails (a gateway that needs isolation and lacks it does not boot). */
  isolation(key = 'isolation') {
    const { mode, reason } = this.tenantIsolation;
    return this.health.check(key).up(reason ? { mode, reason } : { mode });
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

/** What an open probe may show: the kind of failure and codex's own reason, without the server's paths. */
export function downDetails(error: unknown): { message: string; reason?: string } {
  const code = (error as { code?: string })?.code;
  const reason = (error as { details?: { reason?: unknown } })?.details?.reason;
  if (code === 'BINARY_NOT_FOUND') return { message: 'codex binary not found' };
  if (code === 'START_FAILED') {
    return typeof reason === 'string'
      ? { message: 'codex process failed to initialize', reason: publicReason(reason) }
      : { message: 'codex process failed to initialize' };
  }
  if (code === 'SHUTTING_DOWN') return { message: 'shutting down' };
  return { message: 'codex unavailable' };
}
