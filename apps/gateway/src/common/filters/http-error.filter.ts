import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { isCodexTransportError } from '@app/codex-transport';
import { type ContextRequest, contextOf } from '../request-context/request-context';
import { mapCodexError } from './codex-error-status';

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The one place errors become HTTP: `HttpException` bodies are kept, transport errors get their mapped
 * status and a safe message, anything else is a 500 that carries only a correlation id (the details go
 * to the log). Once headers are out, the response is just ended: streams report errors in-band.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<ContextRequest>();
    const { requestId } = contextOf(req);
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
    if (isCodexTransportError(exception)) {
      const mapped = mapCodexError(exception);
      if (mapped.retryAfter !== undefined) res.setHeader('Retry-After', String(mapped.retryAfter));
      if (mapped.status >= 500) {
        this.logger.warn(`request ${requestId}: ${exception.code}: ${exception.message}`);
      }
      res.status(mapped.status).json({
        statusCode: mapped.status,
        message: mapped.message,
        error: REASON[mapped.status] ?? 'Error',
        code: exception.code,
        ...(mapped.status >= 500 ? { correlationId: requestId } : {}),
      });
      return;
    }
    const parserError = bodyParserError(exception);
    if (parserError) {
      res
        .status(parserError.status)
        .json({
          statusCode: parserError.status,
          message: parserError.message,
          error: REASON[parserError.status] ?? 'Error',
        });
      return;
    }
    this.logger.error(`unhandled error (request ${requestId}): ${(exception as Error)?.stack ?? String(exception)}`);
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json({
      statusCode: 500,
      message: 'Internal server error',
      error: REASON[500],
      correlationId: requestId,
    });
  }
}

/**
 * Errors thrown by Express's body parsers carry a 4xx `status` and a `type` like `entity.parse.failed`; a
 * body that its Content-Encoding does not decode fails in zlib with a `Z_…` code (gzip, deflate) or a
 * brotli decoder code (`ERR__ERROR_…`).
 */
function bodyParserError(exception: unknown): { status: number; message: string } | null {
  const e = exception as { status?: unknown; type?: unknown; code?: unknown };
  if (typeof e?.code === 'string' && /^(Z_|ERR__ERROR_)/.test(e.code)) {
    return { status: 400, message: 'Request body does not decode with its Content-Encoding' };
  }
  if (!e || typeof e.status !== 'number' || e.status < 400 || e.status >= 500 || typeof e.type !== 'string')
    return null;
  if (e.type === 'entity.parse.failed') return { status: 400, message: 'Request body is not valid JSON' };
  if (e.type === 'entity.too.large') return { status: 413, message: 'Request body is too large' };
  if (e.type === 'entity.too.deep')
    return { status: 400, message: 'Request body is nested too deeply (at most 64 levels)' };
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
    return { status: 415, message: 'Unsupported request body encoding' };
  return { status: e.status, message: 'Malformed request body' };
}
