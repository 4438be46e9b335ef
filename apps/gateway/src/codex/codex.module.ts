import { Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { CodexTransportModule, type CodexTransportOptions } from '@app/codex-transport';
import { codexConfig, tenancyConfig } from '../config/gateway.config';
import { OfflineProviderHost } from './offline-provider.host';

@Module({
  providers: [OfflineProviderHost],
  exports: [OfflineProviderHost],
})
export class OfflineProviderModule {}

/** Wires the transport library from the gateway's validated configuration. */
@Module({
  imports: [
    OfflineProviderModule,
    CodexTransportModule.forRootAsync({
      imports: [OfflineProviderModule],
      inject: [codexConfig.KEY, tenancyConfig.KEY, OfflineProviderHost],
      useFactory: async (
        codex: ConfigType<typeof codexConfig>,
        tenancy: ConfigType<typeof tenancyConfig>,
        offline: OfflineProviderHost,
      ): Promise<CodexTransportOptions> => {
        const baseUrl = codex.offline ? await offline.start() : codex.baseUrl!;
        return {
          binaryPath: codex.binaryPath,
          baseDataDir: tenancy.baseDataDir,
          workspace: codex.workspace,
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
          // codex knows none of the offline provider's models: without a catalog of them, every turn would
          // start with its "Model metadata not found" warning. A real provider's models keep codex's own
          // catalog (and its warnings, which are then real).
          modelCatalog: codex.offline ? [codex.model, ...codex.advertisedModels, ...Object.values(codex.modelAliases)] : null,
          env: codex.childEnv,
          approvalTimeoutMs: codex.approvalTimeoutMs,
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
  exports: [OfflineProviderModule],
})
export class CodexModule {}
