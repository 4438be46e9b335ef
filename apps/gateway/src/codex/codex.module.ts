import { Global, Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { CodexTransportModule, type CodexTransportOptions } from '@app/codex-transport';
import { codexConfig, tenancyConfig } from '../config/gateway.config';
import { OfflineProviderHost } from './offline-provider.host';
import { decideIsolation, TenantIsolationState } from './tenant-isolation';

/** What the gateway sets up around codex: the offline provider, and how tenants' agents are kept apart. */
@Global()
@Module({
  providers: [
    OfflineProviderHost,
    {
      provide: TenantIsolationState,
      inject: [codexConfig.KEY, tenancyConfig.KEY],
      useFactory: (codex: ConfigType<typeof codexConfig>, tenancy: ConfigType<typeof tenancyConfig>) => {
        const state = decideIsolation(codex, tenancy);
        const logger = new Logger('TenantIsolation');
        if (state.mode === 'namespace') logger.log("each tenant's codex runs in namespaces of its own");
        else
          logger.warn(
            `tenant isolation is OFF (${state.reason}): a tenant's agent sees what the gateway's user can read`,
          );
        return state;
      },
    },
  ],
  exports: [OfflineProviderHost, TenantIsolationState],
})
export class CodexHostModule {}

/** Wires the transport library from the gateway's validated configuration. */
@Module({
  imports: [
    CodexHostModule,
    CodexTransportModule.forRootAsync({
      imports: [CodexHostModule],
      inject: [codexConfig.KEY, tenancyConfig.KEY, OfflineProviderHost, TenantIsolationState],
      useFactory: async (
        codex: ConfigType<typeof codexConfig>,
        tenancy: ConfigType<typeof tenancyConfig>,
        offline: OfflineProviderHost,
        isolation: TenantIsolationState,
      ): Promise<CodexTransportOptions> => {
        const baseUrl = codex.offline ? await offline.start() : codex.baseUrl!;
        return {
          binaryPath: codex.binaryPath,
          baseDataDir: tenancy.baseDataDir,
          workspace: codex.workspace,
          tenantWorkspaces: codex.multiTenant,
          isolation: isolation.isolation,
          clientName: codex.clientName,
          clientVersion: process.env.npm_package_version ?? '0.1.0',
          model: codex.model,
          reasoningEffort: codex.reasoningEffort,
          provider: {
            id: codex.providerId,
            name: codex.offline ? 'Offline provider (scripted)' : codex.providerId,
            baseUrl,
            apiKey: codex.apiKey,
            // The offline provider never needs a retry; a real one gets one retry per request and stream.
            requestMaxRetries: codex.offline ? 0 : 1,
            streamMaxRetries: codex.offline ? 0 : 1,
          },
          sandbox: codex.sandbox,
          approvalPolicy: codex.approvalPolicy,
          addDirs: codex.addDirs,
          enableSearch: codex.enableSearch,
          shellSnapshot: codex.shellSnapshot,
          modelCatalog: codex.modelCatalog,
          env: codex.childEnv,
          approvalTimeoutMs: codex.approvalTimeoutMs,
          toolCallTimeoutMs: codex.toolCallTimeoutMs,
          turnTimeoutMs: codex.turnTimeoutMs,
          maxSessions: tenancy.maxSessions,
          maxRunningTurnsPerTenant: codex.maxConcurrency,
          idleTimeoutMs: tenancy.idleTimeoutMs,
          cleanupIntervalMs: tenancy.cleanupIntervalMs,
          logger: new Logger('CodexTransport'),
        };
      },
    }),
  ],
  exports: [CodexHostModule],
})
export class CodexModule {}
