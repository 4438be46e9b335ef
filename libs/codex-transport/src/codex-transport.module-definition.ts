import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CodexTransportOptions } from './options';

export const {
  ConfigurableModuleClass: CodexTransportConfigurableModule,
  MODULE_OPTIONS_TOKEN: CODEX_TRANSPORT_OPTIONS,
  OPTIONS_TYPE: CodexTransportModuleOptions,
  ASYNC_OPTIONS_TYPE: CodexTransportModuleAsyncOptions,
} = new ConfigurableModuleBuilder<CodexTransportOptions>().setClassMethodName('forRoot').build();
