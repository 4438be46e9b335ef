import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { ConfigurationError, parseEnvironment } from './config/environment';
import { configureGateway } from './gateway.setup';

async function bootstrap(): Promise<void> {
  parseEnvironment(process.env); // fail fast with one message listing every bad variable
  // Loaded here so a configuration error (raised while the module graph is built) is reported cleanly.
  const { AppModule } = await import('./app.module');
  const app = await NestFactory.create(AppModule, { abortOnError: false });
  configureGateway(app);
  const config = app.get(ConfigService);
  const host = config.getOrThrow<string>('server.host');
  const port = config.getOrThrow<number>('server.port');
  await app.listen(port, host);
  new Logger('Bootstrap').log(`Codex Gateway listening on http://${host}:${port} (docs at /docs)`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigurationError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`Codex Gateway failed to start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
