import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppServerTransport } from './app-server/app-server.transport';
import { CODEX_TRANSPORT_OPTIONS, CodexTransportConfigurableModule } from './codex-transport.module-definition';
import { ExecTransport } from './exec/exec.transport';
import type { CodexTransportOptions } from './options';

/**
 * Provides {@link AppServerTransport} and {@link ExecTransport} from plain options
 * (`CodexTransportModule.forRootAsync({ useFactory })`) and stops every codex child on shutdown.
 */
@Global()
@Module({
  providers: [
    {
      provide: AppServerTransport,
      useFactory: (options: CodexTransportOptions) => new AppServerTransport(options),
      inject: [CODEX_TRANSPORT_OPTIONS],
    },
    {
      provide: ExecTransport,
      useFactory: (options: CodexTransportOptions) => new ExecTransport(options),
      inject: [CODEX_TRANSPORT_OPTIONS],
    },
  ],
  exports: [AppServerTransport, ExecTransport],
})
export class CodexTransportModule extends CodexTransportConfigurableModule implements OnApplicationShutdown {
  constructor(
    @Inject(AppServerTransport) private readonly appServer: AppServerTransport,
    @Inject(ExecTransport) private readonly exec: ExecTransport,
  ) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    this.exec.shutdown();
    await this.appServer.shutdown();
  }
}
