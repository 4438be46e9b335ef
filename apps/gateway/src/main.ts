import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LogLevel, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { DrainService } from './common/lifecycle/drain.service';
import { AppServerTransport } from '@app/codex-transport';
import { GatewayLogger, type LogFormat } from './common/logging/gateway-logger';
import { ConfigurationError, type EnvironmentVariables, parseEnvironment } from './config/environment';
import { configureGateway } from './gateway.setup';

async function bootstrap(): Promise<void> {
  const env = parseEnvironment(process.env); // fail fast with one message listing every bad variable
  // Loaded here so a configuration error (raised while the module graph is built) is reported cleanly.
  const { AppModule } = await import('./app.module');
  // JSON for log collectors; a short line per entry for a person at a terminal.
  const format = (env.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json')) as LogFormat;
  const app = await NestFactory.create(AppModule, {
    abortOnError: false,
    logger: new GatewayLogger(logLevel(env.LOG_LEVEL ?? 'info'), secretsOf(env), format),
  });
  configureGateway(app);
  const config = app.get(ConfigService);
  const host = config.getOrThrow<string>('server.host');
  const port = config.getOrThrow<number>('server.port');
  await app.listen(port, host);
  const bound = ((app.getHttpServer() as Server).address() as AddressInfo).port;
  const logger = new Logger('Bootstrap');
  logger.log(`Codex Gateway listening on http://${host}:${bound} (docs at /docs)`);
  // Start a codex the way a tenant's is started, now: a setting codex refuses shows at boot, not at the
  // first request (and /health/ready says the same until it is fixed).
  app
    .get(AppServerTransport)
    .checkHealth()
    .then(
      () => logger.log('codex starts and initializes with this configuration'),
      (error: unknown) =>
        logger.error(
          `CODEX CANNOT START with this configuration: ${(error as Error)?.message ?? String(error)}. ` +
            'Every turn fails and /health/ready answers 503 until it is fixed.',
        ),
    );

  // Shutdown hooks of our own rather than enableShutdownHooks(): that one re-raises the signal after
  // closing, so the process would end "killed by SIGTERM" instead of exiting 0 after a clean stop.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    const graceMs = config.getOrThrow<number>('server.shutdownGraceMs');
    logger.log(
      `${signal} received: draining (new work refused, running turns get up to ${graceMs / 1000} s), then stopping`,
    );
    app
      .get(DrainService)
      .drain(graceMs)
      .then(() => app.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`shutdown failed: ${(error as Error)?.message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Nest's name for a LOG_LEVEL (`info` is Nest's `log`, `trace` its `verbose`). */
function logLevel(level: string): LogLevel {
  return level === 'info' ? 'log' : level === 'trace' ? 'verbose' : (level as LogLevel);
}

/** Values that must never appear in a log line. */
function secretsOf(env: EnvironmentVariables): string[] {
  const pairs = (env.CODEX_GATEWAY_TOKENS ?? '').split(',').map((pair) => pair.slice(pair.indexOf(':') + 1).trim());
  return [
    env.CODEX_GATEWAY_TOKEN,
    env.CODEX_API_KEY,
    process.env.OPENAI_API_KEY,
    env.KEYCLOAK_CLIENT_SECRET,
    ...pairs,
  ].filter((s): s is string => Boolean(s));
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigurationError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`Codex Gateway failed to start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
