import { HttpStatus } from '@nestjs/common';
import { CodexErrorCode, type CodexTransportError } from '@app/codex-transport';

export interface MappedError {
  status: number;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  retryAfter?: number;
  /** Message safe to send to the client. */
  message: string;
}

const STATUS: Record<CodexErrorCode, { status: number; retryAfter?: number; publicMessage?: string }> = {
  [CodexErrorCode.BINARY_NOT_FOUND]: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    publicMessage: 'codex is not installed on this gateway',
  },
  [CodexErrorCode.START_FAILED]: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    retryAfter: 5,
    publicMessage: 'codex could not be started',
  },
  [CodexErrorCode.PROCESS_EXITED]: { status: HttpStatus.SERVICE_UNAVAILABLE, retryAfter: 1 },
  [CodexErrorCode.RPC_ERROR]: { status: HttpStatus.BAD_GATEWAY, publicMessage: 'codex rejected the request' },
  [CodexErrorCode.THREAD_NOT_FOUND]: { status: HttpStatus.NOT_FOUND },
  [CodexErrorCode.TURN_NOT_FOUND]: { status: HttpStatus.NOT_FOUND },
  [CodexErrorCode.THREAD_BUSY]: { status: HttpStatus.CONFLICT },
  [CodexErrorCode.TOO_MANY_TURNS]: { status: HttpStatus.TOO_MANY_REQUESTS, retryAfter: 1 },
  [CodexErrorCode.POOL_FULL]: { status: HttpStatus.SERVICE_UNAVAILABLE, retryAfter: 5 },
  [CodexErrorCode.SHUTTING_DOWN]: { status: HttpStatus.SERVICE_UNAVAILABLE, retryAfter: 5 },
  [CodexErrorCode.TURN_TIMEOUT]: { status: HttpStatus.GATEWAY_TIMEOUT },
  [CodexErrorCode.PROVIDER_ERROR]: { status: HttpStatus.BAD_GATEWAY },
  // The provider refused what the client sent (not retryable as it is): the client's 400, in the provider's words.
  [CodexErrorCode.PROVIDER_REJECTED]: { status: HttpStatus.BAD_REQUEST },
  [CodexErrorCode.CONTEXT_LENGTH_EXCEEDED]: { status: HttpStatus.BAD_REQUEST },
  [CodexErrorCode.PROVIDER_RATE_LIMITED]: { status: HttpStatus.TOO_MANY_REQUESTS },
  [CodexErrorCode.APPROVAL_NOT_FOUND]: { status: HttpStatus.NOT_FOUND },
  [CodexErrorCode.APPROVAL_RESOLVED]: { status: HttpStatus.CONFLICT },
  [CodexErrorCode.INVALID_REQUEST]: { status: HttpStatus.BAD_REQUEST },
  [CodexErrorCode.OUTPUT_INVALID]: { status: HttpStatus.BAD_GATEWAY },
  [CodexErrorCode.REQUEST_TIMEOUT]: {
    status: HttpStatus.GATEWAY_TIMEOUT,
    publicMessage: 'codex did not answer in time',
  },
};

/** The same for a failed turn's error (its code as codex-transport reports it; provider failure when absent). */
export function mapTurnError(error: { code?: string | null; message: string; retryAfterMs?: number }): MappedError {
  return mapCodexError({
    code: (error.code ?? CodexErrorCode.PROVIDER_ERROR) as CodexErrorCode,
    message: error.message,
    details: error.retryAfterMs === undefined ? undefined : { retryAfterMs: error.retryAfterMs },
  });
}

/** The HTTP status, Retry-After and client-safe message for a transport error. */
export function mapCodexError(
  error: Pick<CodexTransportError, 'code' | 'message'> & { details?: Record<string, unknown> },
): MappedError {
  const entry = STATUS[error.code] ?? {
    status: HttpStatus.BAD_GATEWAY,
    publicMessage: 'codex failed',
  };
  const waitMs = error.details?.retryAfterMs;
  const retryAfter = typeof waitMs === 'number' ? Math.max(1, Math.ceil(waitMs / 1000)) : entry.retryAfter;
  let message = entry.publicMessage ?? error.message;
  // codex's own reason for refusing to start is what an operator needs to see (paths of the server left out).
  const reason = error.details?.reason;
  if (error.code === CodexErrorCode.START_FAILED && typeof reason === 'string')
    message = `${message}: ${publicReason(reason)}`;
  return { status: entry.status, retryAfter, message };
}

/** A reason from codex with the server's file paths replaced, cut to a readable length. */
export function publicReason(reason: string): string {
  return reason.replace(/(?<![\w:/.])\/(?:[\w.@+-]+\/?)+/g, '<path>').slice(0, 500);
}
