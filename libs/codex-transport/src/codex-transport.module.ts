import { type BeforeApplicationShutdown, Global, Inject, Module } from '@nestjs/common';
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
export class CodexTransportModule extends CodexTransportConfigurableModule implements BeforeApplicationShutdown {
  constructor(
    @Inject(AppServerTransport) private readonly appServer: AppServerTransport,
    @Inject(ExecTransport) private readonly exec: ExecTransport,
  ) {
    super();
  }

  /**
   * Before the HTTP server closes: stopping codex ends every running turn, so streams that are still
   * open finish (with an error event) and the server's close does not wait on them forever.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.exec.shutdown();
    await this.appServer.shutdown();
  }
}
