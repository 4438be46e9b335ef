import type { INestApplication, Type } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DiscoveryService, Reflector } from '@nestjs/core';
import {
  DocumentBuilder,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { IS_PUBLIC, IS_PUBLIC_WHEN } from '../auth/auth.guard';
import { BEARER_CHALLENGE } from '../auth/authenticator';

/** The two ways a client presents its credential (the guard accepts either). */
export const SECURITY_SCHEMES = { bearer: 'bearer', apiKey: 'api-key' } as const;

/** The metadata `@SkipThrottle()` of @nestjs/throttler sets, for the `default` throttler (the package does not export the key). */
const SKIP_THROTTLE_DEFAULT = 'THROTTLER:SKIPdefault';

const ERROR_BODY = {
  type: 'object',
  required: ['statusCode', 'message'],
  properties: {
    statusCode: { type: 'integer', example: 400 },
    message: {
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      example: 'threadId must be a string',
    },
    error: { type: 'string', example: 'Bad Request' },
    correlationId: {
      type: 'string',
      description: 'Matches the X-Request-Id header and the log line (failures inside the gateway).',
    },
  },
};

const OPENAI_ERROR_BODY = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type'],
      properties: {
        message: { type: 'string', example: 'messages must be a non-empty array' },
        type: { type: 'string', example: 'invalid_request_error' },
        param: { type: 'string', nullable: true },
        code: { type: 'string', nullable: true },
      },
    },
  },
};

/**
 * The OpenAPI document of the running gateway, written so a client generator can trust it: every
 * operation declares its security as the guard enforces it with this configuration (`[]` for the open
 * probes, status and docs; bearer token or `X-API-Key` for everything else when auth is on), and the
 * client errors it can answer (400 bad input, 401 credentials, 429 rate limit) in the shape of its API.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = app.get(ConfigService);
  const authOn = config.get<string>('auth.method') !== 'None';
  const rateLimited = (config.get<number>('server.rateLimitPerMinute') ?? 0) > 0;
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Codex Gateway')
      .setDescription(
        'The Codex coding agent over REST (app-server), OpenAI Chat Completions and Responses, a simple chat API and an HTTP/2 agent stream.',
      )
      .setVersion(process.env.npm_package_version ?? '0.1.0')
      .addServer('/', 'This gateway')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          description: 'A gateway token (SECURITY_METHOD=Token), or a Keycloak / JWT access token.',
        },
        SECURITY_SCHEMES.bearer,
      )
      .addApiKey(
        {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description: 'The same credential as the bearer token, in a header of its own.',
        },
        SECURITY_SCHEMES.apiKey,
      )
      .build(),
  );
  document.components ??= {};
  document.components.schemas = {
    ...document.components.schemas,
    ErrorResponse: ERROR_BODY,
    OpenAIErrorResponse: OPENAI_ERROR_BODY,
  };
  const routes = routeMetadata(app);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'post', 'put', 'delete', 'patch'] as const) {
      const op = item[method];
      if (!op) continue;
      const meta = routes.get(op.operationId ?? '');
      // A streamed answer is not the JSON body's schema: it is text, one server-sent event after another.
      for (const response of Object.values(op.responses) as ResponseObject[]) {
        const stream = response.content?.['text/event-stream'];
        if (stream)
          stream.schema = {
            type: 'string',
            description: 'Server-sent events (`event:` and `data:` lines); the README lists the events.',
          };
      }
      const open =
        !authOn ||
        meta?.public === true ||
        (meta?.publicWhen !== undefined && config.get<boolean>(meta.publicWhen) === true);
      op.security = open ? [] : [{ [SECURITY_SCHEMES.bearer]: [] }, { [SECURITY_SCHEMES.apiKey]: [] }];
      const schema = {
        $ref: `#/components/schemas/${path.startsWith('/v1/') ? 'OpenAIErrorResponse' : 'ErrorResponse'}`,
      };
      const error = (description: string): ResponseObject => ({
        description,
        content: { 'application/json': { schema } },
      });
      if (op.requestBody || (op.parameters ?? []).length > 0)
        addResponse(op, '400', error('Invalid request: a field failed its check.'));
      if (op.requestBody) addResponse(op, '415', error('The body is not JSON (Content-Type: application/json).'));
      if (!open)
        addResponse(op, '401', {
          ...error('Missing or invalid credentials.'),
          headers: {
            'WWW-Authenticate': {
              description: `The challenge: \`${BEARER_CHALLENGE}\`.`,
              schema: { type: 'string', example: BEARER_CHALLENGE },
            },
          },
        });
      if (rateLimited && !meta?.skipThrottle)
        addResponse(op, '429', error('Rate limit (CODEX_RATE_LIMIT_PER_MINUTE) reached; see Retry-After.'));
    }
  }
  return document;
}

function addResponse(op: OperationObject, status: string, response: ResponseObject): void {
  op.responses[status] ??= response;
}

interface RouteMeta {
  public: boolean;
  publicWhen?: string;
  skipThrottle: boolean;
}

/** Each route's auth and throttling metadata, keyed by the operation id Swagger gives it (`Controller_method`). */
function routeMetadata(app: INestApplication): Map<string, RouteMeta> {
  const reflector = app.get(Reflector);
  const out = new Map<string, RouteMeta>();
  for (const wrapper of app.get(DiscoveryService).getControllers()) {
    const controller = wrapper.metatype as Type<unknown> | null;
    if (!controller?.prototype) continue;
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler: unknown = (controller.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const targets = [handler as (...args: unknown[]) => unknown, controller];
      out.set(`${controller.name}_${name}`, {
        public: reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
        publicWhen: reflector.getAllAndOverride<string | undefined>(IS_PUBLIC_WHEN, targets),
        skipThrottle: reflector.getAllAndOverride<boolean>(SKIP_THROTTLE_DEFAULT, targets) === true,
      });
    }
  }
  return out;
}
