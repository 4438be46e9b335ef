import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { AppModule } from '../../apps/gateway/src/app.module';
import { configureGateway } from '../../apps/gateway/src/gateway.setup';
import { makeDataDir } from './harness';

export interface TestGateway {
  app: INestApplication;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Boots the real gateway (AppModule, same setup as main.ts) on 127.0.0.1 with a random port and its own
 * data dir. `env` is applied to process.env for the boot and restored afterwards.
 */
export async function startGateway(
  label: string,
  env: Record<string, string | undefined> = {},
  options: {
    logger?: LoggerService | LogLevel[];
    /** Reuse this data dir (a restart). */
    dataDir?: string;
    /** Listen on this port (replicas name each other's); a random one otherwise. */
    port?: number;
  } = {},
): Promise<TestGateway> {
  const dataDir = options.dataDir ?? makeDataDir(label);
  const saved: Record<string, string | undefined> = {};
  const vars: Record<string, string | undefined> = {
    BASE_DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    CODEX_H2_PORT: '0',
    CODEX_API_BASE_URL: undefined,
    CODEX_API_KEY: undefined,
    OPENAI_API_KEY: undefined,
    ...env,
  };
  for (const [key, value] of Object.entries(vars)) {
    saved[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = configureGateway(moduleRef.createNestApplication({ logger: options.logger ?? ['error', 'warn'] }));
    try {
      await app.listen(options.port ?? 0, '127.0.0.1');
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }
    const port = (app.getHttpServer().address() as AddressInfo).port;
    return {
      app,
      url: `http://127.0.0.1:${port}`,
      dataDir,
      close: () => app.close(),
    };
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
