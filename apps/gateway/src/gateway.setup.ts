import helmet from 'helmet';
import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { limitJsonDepth, requireJsonBody } from './common/limits/json-body';
import { GatewayValidationPipe } from './common/validation/gateway-validation.pipe';
import { setStreamBufferLimit } from './common/sse/sse-writer';
import { SwaggerModule } from '@nestjs/swagger';
import { buildOpenApiDocument } from './common/openapi/openapi-document';
import type { NestExpressApplication } from '@nestjs/platform-express';

/**
 * Everything `main.ts` applies to the app besides listening and signals, shared with the e2e tests so
 * they run the same pipes, filters and docs as production.
 */
export function configureGateway(app: INestApplication): INestApplication {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  // Idle keep-alive connections stay open longer than the usual load-balancer idle timeout (60 s), so the
  // proxy, not the gateway, closes them: otherwise a request sent on a connection the gateway is just
  // closing fails with a reset.
  const server = app.getHttpServer() as import('node:http').Server;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Security headers; the CSP still lets the Swagger UI at /docs load its own scripts and styles.
  express.use(helmet({ crossOriginEmbedderPolicy: false }));
  express.set('trust proxy', 'loopback');
  // Prompts may be long (CODEX_MAX_PROMPT_CHARS, 200 000 by default, is checked by the routes); Express's
  // 100 kB default would refuse them first.
  express.use(requireJsonBody);
  express.useBodyParser('json', { limit: '10mb' });
  express.use(limitJsonDepth);
  setStreamBufferLimit(app.get(ConfigService).getOrThrow<number>('server.streamBufferBytes'));
  const corsOrigins = app.get(ConfigService).get<string[]>('server.corsOrigins') ?? [];
  if (corsOrigins.length > 0) app.enableCors({ origin: corsOrigins, credentials: false });
  app.useGlobalPipes(new GatewayValidationPipe());
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  return app;
}
