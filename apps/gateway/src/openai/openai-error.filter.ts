import {
  type ArgumentsHost,
  BadRequestException,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import { isCodexTransportError } from '@app/codex-transport';
import { mapCodexError } from '../common/filters/codex-error-status';
import { type ContextRequest, contextOf } from '../common/request-context/request-context';

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
  429: ['rate_limit_exceeded', 'rate_limit_exceeded'],
};

/** The OpenAI error body for a status (`server_error` for 5xx); `code` overrides the status's usual code. */
export function openAiError(
  status: number,
  message: string,
  param: string | null = null,
  code?: string,
): { error: OpenAiError } {
  const [type, usual] = TYPES[status] ?? (status >= 500 ? ['server_error', null] : ['invalid_request_error', null]);
  return { error: { message, type, param, code: code ?? usual } };
}

/**
 * A prompt longer than CODEX_MAX_PROMPT_CHARS. OpenAI answers this case with 400 and
 * `code: context_length_exceeded`, which is what SDKs (`BadRequestError`) and frameworks that trim
 * history on that code expect, so the `/v1` routes do the same.
 */
export function promptTooLong(chars: number, limit: number, param: string): BadRequestException {
  return new BadRequestException({
    message: `The input holds ${chars} characters; this gateway accepts at most ${limit} (CODEX_MAX_PROMPT_CHARS).`,
    code: 'context_length_exceeded',
    param,
  });
}

/** Errors on the `/v1` routes in OpenAI's shape: `{"error":{"message","type","param","code"}}`. */
@Catch()
export class OpenAiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAiErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<ContextRequest>();
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    let status = 500;
    let message = `Internal server error (correlation id ${contextOf(req).requestId})`;
    let param: string | null = null;
    let code: string | undefined;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const body = exception.getResponse() as { message?: unknown; code?: unknown; param?: unknown } | string;
      const m = typeof body === 'string' ? body : body.message;
      message = Array.isArray(m) ? m.join('; ') : String(m ?? exception.message);
      if (typeof body === 'object' && typeof body.code === 'string') code = body.code;
      if (typeof body === 'object' && typeof body.param === 'string') param = body.param;
    } else if (isCodexTransportError(exception)) {
      const mapped = mapCodexError(exception);
      status = mapped.status;
      message = mapped.message;
      if (mapped.retryAfter !== undefined) res.setHeader('Retry-After', String(mapped.retryAfter));
    } else {
      this.logger.error(`request ${contextOf(req).requestId}: ${(exception as Error)?.stack ?? String(exception)}`);
    }
    if (status === 429 && !res.getHeader('Retry-After')) res.setHeader('Retry-After', '1');
    res.status(status).json(openAiError(status, message, param, code));
  }
}
