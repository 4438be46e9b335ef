import { HttpException, HttpStatus, type Logger } from '@nestjs/common';
import { isCodexTransportError } from '@app/codex-transport';
import { mapCodexError, mapTurnError } from './codex-error-status';
import { GatewayError, type GatewayErrorKind, TurnFailedError } from './gateway-error';

/** Any error, described once for every wire: what each one sends is built from this. */
export interface Failure {
  status: number;
  /** Safe to send to the client. */
  message: string;
  /** Machine-readable: a transport code (`THREAD_BUSY`), a failed turn's code, or a gateway error's own code. */
  code: string | null;
  /** The request field at fault. */
  param: string | null;
  /** Every problem found, when validation found several (`message` joins them). */
  problems?: string[];
  /** Seconds a client should wait before retrying (`Retry-After`). */
  retryAfter?: number;
  /** A failed turn: what the answer still says about it. */
  turn?: Record<string, unknown>;
  /** Not an error the gateway knows: the client gets a correlation id, the log gets the details. */
  unexpected: boolean;
}

const KIND_STATUS: Record<GatewayErrorKind, number> = {
  invalid_request: HttpStatus.BAD_REQUEST,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

/** The one table from errors to statuses, client-safe messages and codes. */
export function describeFailure(error: unknown): Failure {
  const known = { param: null, unexpected: false };
  if (error instanceof GatewayError) {
    return {
      ...known,
      status: KIND_STATUS[error.kind],
      message: error.message,
      code: error.options.code ?? null,
      param: error.options.param ?? null,
      ...(error.options.problems ? { problems: error.options.problems } : {}),
    };
  }
  if (error instanceof TurnFailedError) {
    const mapped = mapTurnError(error.failure);
    return { ...known, ...mapped, code: error.failure.code ?? null, turn: error.result };
  }
  if (isCodexTransportError(error)) return { ...known, ...mapCodexError(error), code: error.code };
  if (error instanceof HttpException) {
    // From Nest itself, pipes and guards: validation (messages as a list), rate limits.
    const body = error.getResponse() as { message?: unknown } | string;
    const m = typeof body === 'string' ? body : body.message;
    return {
      ...known,
      status: error.getStatus(),
      message: Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : error.message,
      code: null,
    };
  }
  const parser = bodyParserError(error);
  if (parser) return { ...known, ...parser, code: null };
  return { ...known, status: 500, message: 'Internal server error', code: null, unexpected: true };
}

/**
 * Errors thrown by Express's body parsers carry a 4xx `status` and a `type` like `entity.parse.failed`; a
 * body that its Content-Encoding does not decode fails in zlib with a `Z_…` code (gzip, deflate) or a
 * brotli decoder code (`ERR__ERROR_…`).
 */
function bodyParserError(exception: unknown): { status: number; message: string } | null {
  const e = exception as { status?: unknown; type?: unknown; code?: unknown } | null | undefined;
  if (typeof e?.code === 'string' && /^(Z_|ERR__ERROR_)/.test(e.code)) {
    return { status: 400, message: 'Request body does not decode with its Content-Encoding' };
  }
  if (!e || typeof e.status !== 'number' || e.status < 400 || e.status >= 500 || typeof e.type !== 'string')
    return null;
  if (e.type === 'entity.parse.failed') return { status: 400, message: 'Request body is not valid JSON' };
  if (e.type === 'entity.too.large') return { status: 413, message: 'Request body is too large' };
  if (e.type === 'entity.too.deep')
    return { status: 400, message: 'Request body is nested too deeply (at most 64 levels)' };
  if (e.type === 'entity.unsupported.type')
    return { status: 415, message: 'Request body must be JSON, sent with Content-Type: application/json' };
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
    return { status: 415, message: 'Unsupported request body encoding' };
  return { status: e.status, message: 'Malformed request body' };
}

/** Logs what the client is not told: the details of a 5xx. */
export function logFailure(logger: Logger, failure: Failure, error: unknown, requestId: string): void {
  if (failure.unexpected)
    logger.error(`unhandled error (request ${requestId}): ${(error as Error)?.stack ?? String(error)}`);
  else if (failure.status >= 500)
    logger.warn(`request ${requestId}: ${failure.code ?? ''}: ${(error as Error).message}`);
}
