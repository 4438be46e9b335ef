/** Machine-readable reasons a transport operation failed; the HTTP layer maps each to a status. */
export enum CodexErrorCode {
  /** No codex binary at the configured path nor in the installed package. */
  BINARY_NOT_FOUND = 'BINARY_NOT_FOUND',
  /** The codex process exited (or was killed) while work was outstanding. */
  PROCESS_EXITED = 'PROCESS_EXITED',
  /** The codex process could not be started or did not finish its handshake. */
  START_FAILED = 'START_FAILED',
  /** codex answered a request with a JSON-RPC error not covered by a more specific code. */
  RPC_ERROR = 'RPC_ERROR',
  /** The thread id is unknown, malformed, or belongs to someone else. */
  THREAD_NOT_FOUND = 'THREAD_NOT_FOUND',
  /** The turn id is not the thread's running turn. */
  TURN_NOT_FOUND = 'TURN_NOT_FOUND',
  /** The thread already runs a turn. */
  THREAD_BUSY = 'THREAD_BUSY',
  /** The tenant already runs as many turns as allowed. */
  TOO_MANY_TURNS = 'TOO_MANY_TURNS',
  /** Every process slot is taken. */
  POOL_FULL = 'POOL_FULL',
  /** The transport is shutting down and takes no new work. */
  SHUTTING_DOWN = 'SHUTTING_DOWN',
  /** The turn ran longer than allowed and was stopped. */
  TURN_TIMEOUT = 'TURN_TIMEOUT',
  /** The model provider failed the turn. */
  PROVIDER_ERROR = 'PROVIDER_ERROR',
  /** The model provider refused the request as malformed (its 400/404/413/422): the client's input. */
  PROVIDER_REJECTED = 'PROVIDER_REJECTED',
  /** The conversation is longer than the model's context window. */
  CONTEXT_LENGTH_EXCEEDED = 'CONTEXT_LENGTH_EXCEEDED',
  /** The model provider's rate limit (its 429). */
  PROVIDER_RATE_LIMITED = 'PROVIDER_RATE_LIMITED',
  /** The approval id is unknown (or another tenant's). */
  APPROVAL_NOT_FOUND = 'APPROVAL_NOT_FOUND',
  /** The approval was already answered, timed out, or its turn ended. */
  APPROVAL_RESOLVED = 'APPROVAL_RESOLVED',
  /** A request the gateway refused before sending it to codex. */
  INVALID_REQUEST = 'INVALID_REQUEST',
  /** A request to codex got no answer in time. */
  REQUEST_TIMEOUT = 'REQUEST_TIMEOUT',
  /** The turn's final answer does not have the format the request asked for (JSON, a schema). */
  OUTPUT_INVALID = 'OUTPUT_INVALID',
}

/** The one error type the transport throws (or puts in failed turns); `code` says why. */
export class CodexTransportError extends Error {
  override readonly name = 'CodexTransportError';

  constructor(
    readonly code: CodexErrorCode,
    message: string,
    /** Extra facts for logs (never sent to clients verbatim). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isCodexTransportError(error: unknown, code?: CodexErrorCode): error is CodexTransportError {
  return error instanceof CodexTransportError && (code === undefined || error.code === code);
}
