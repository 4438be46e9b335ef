import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { describeFailure, type Failure, logFailure } from '../errors/failure';
import { BEARER_CHALLENGE } from '../auth/authenticator';
import { type ContextRequest, contextOf } from '../request-context/request-context';
import { OpenAiErrorFilter } from './openai-error.filter';

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The gateway's JSON error body: `{statusCode, message, error}`, the machine code when there is one, a
 * correlation id for failures inside the gateway (5xx) and failed turns, and what a failed turn's answer
 * still says about it.
 */
export function httpErrorBody(failure: Failure, requestId: string): Record<string, unknown> {
  return {
    statusCode: failure.status,
    // Request validation lists every problem, as Nest's own validation answers do.
    message: failure.problems ?? failure.message,
    error: failure.turn ? 'Turn failed' : (REASON[failure.status] ?? 'Error'),
    ...(failure.code !== null ? { code: failure.code } : {}),
    ...(failure.status >= 500 || failure.turn ? { correlationId: requestId } : {}),
    ...failure.turn,
  };
}

/**
 * The one place errors become HTTP for the gateway's own routes: `HttpException` bodies (validation,
 * rate limits) are kept, everything else is described by {@link describeFailure}; a 5xx carries only a
 * correlation id (the details go to the log). Once headers are out, the response is just ended: streams
 * report errors in-band.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  private readonly openAi = new OpenAiErrorFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const failure = describeFailure(exception);
    if (failure.status === 401 && !res.headersSent) res.setHeader('WWW-Authenticate', BEARER_CHALLENGE);
    // OpenAI clients get OpenAI's shape on every /v1 path, also before a route is found.
    if (http.getRequest<ContextRequest>().originalUrl?.startsWith('/v1/')) return this.openAi.catch(exception, host);
    const { requestId } = contextOf(http.getRequest<ContextRequest>());
    if (res.headersSent) {
      this.logger.warn(`error after headers were sent (request ${requestId}): ${(exception as Error)?.message}`);
      if (!res.writableEnded) res.end();
      return;
    }
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      res
        .status(exception.getStatus())
        .json(typeof body === 'string' ? { statusCode: exception.getStatus(), message: body } : body);
      return;
    }
    logFailure(this.logger, failure, exception, requestId);
    if (failure.retryAfter !== undefined) res.setHeader('Retry-After', String(failure.retryAfter));
    res.status(failure.status).json(httpErrorBody(failure, requestId));
  }
}
