import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { describeFailure, type Failure, logFailure } from '../errors/failure';
import { type ContextRequest, contextOf } from '../request-context/request-context';

export interface OpenAiError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

const TYPES: Record<number, [string, string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  403: ['invalid_request_error', 'forbidden'],
  404: ['not_found_error', 'not_found'],
  409: ['invalid_request_error', 'conflict'],
  413: ['invalid_request_error', 'request_too_large'],
  415: ['invalid_request_error', 'unsupported_media_type'],
  429: ['rate_limit_exceeded', 'rate_limit_exceeded'],
};

/** The gateway's codes that OpenAI has a code of its own for; other codes (`THREAD_BUSY`) are not OpenAI's. */
const CODES: Record<string, string> = {
  CONTEXT_LENGTH_EXCEEDED: 'context_length_exceeded',
};

/**
 * An error in OpenAI's shape, `{"error":{"message","type","param","code"}}`: the type and the usual code by
 * status (`server_error` for 5xx), or OpenAI's code for the gateway's when it has one.
 */
export function openAiError(failure: Failure, requestId: string): { error: OpenAiError } {
  const { status } = failure;
  const [type, usual] = TYPES[status] ?? (status >= 500 ? ['server_error', null] : ['invalid_request_error', null]);
  const message = failure.unexpected ? `Internal server error (correlation id ${requestId})` : failure.message;
  const code = (failure.code !== null ? CODES[failure.code] : undefined) ?? usual;
  return { error: { message, type, param: failure.param, code } };
}

/**
 * Errors on `/v1` paths in OpenAI's shape, with `Retry-After` when the client should retry: the global
 * {@link HttpErrorFilter} hands it every error of such a path, raised in a route or before one is found (a
 * body that does not parse, an unknown `/v1` path).
 */
@Catch()
export class OpenAiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAiErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { requestId } = contextOf(host.switchToHttp().getRequest<ContextRequest>());
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    const failure = describeFailure(exception);
    logFailure(this.logger, failure, exception, requestId);
    const retryAfter = failure.retryAfter ?? (failure.status === 429 ? 1 : undefined);
    if (retryAfter !== undefined && !res.getHeader('Retry-After')) res.setHeader('Retry-After', String(retryAfter));
    res.status(failure.status).json(openAiError(failure, requestId));
  }
}
