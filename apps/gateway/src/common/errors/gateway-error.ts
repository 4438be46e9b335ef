/**
 * What a request got wrong, or what the gateway cannot do for it, in the gateway's own terms. Services
 * and policies throw these; each wire maps them in one table (HTTP JSON, OpenAI's error shape, HTTP/2
 * `error` frames), see {@link describeFailure}.
 */
export type GatewayErrorKind =
  /** The request is malformed or asks for something not allowed (400). */
  | 'invalid_request'
  /** No valid credentials (401). */
  | 'unauthenticated'
  /** The named thing does not exist for this caller (404). */
  | 'not_found'
  /** The request conflicts with the current state (409). */
  | 'conflict'
  /** Something the gateway depends on cannot answer (503). */
  | 'unavailable';

export interface GatewayErrorOptions {
  /** The request field at fault (OpenAI's `param`). */
  param?: string;
  /** A machine-readable code for clients, in the transport's style (`CONTEXT_LENGTH_EXCEEDED`). */
  code?: string;
  /** Every problem found, when there are several (request validation); the message joins them. */
  problems?: string[];
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    readonly kind: GatewayErrorKind,
    message: string,
    readonly options: GatewayErrorOptions = {},
  ) {
    super(message);
  }
}

export const invalidRequest = (message: string, param?: string) =>
  new GatewayError('invalid_request', message, param === undefined ? {} : { param });
export const unauthenticated = (message: string) => new GatewayError('unauthenticated', message);
export const notFound = (message: string) => new GatewayError('not_found', message);
export const conflict = (message: string) => new GatewayError('conflict', message);
export const unavailable = (message: string) => new GatewayError('unavailable', message);

/**
 * A prompt longer than CODEX_MAX_PROMPT_CHARS. OpenAI answers this case with 400 and
 * `code: context_length_exceeded`, which is what SDKs (`BadRequestError`) and frameworks that trim
 * history on that code expect.
 */
export function promptTooLong(chars: number, limit: number, param: string): GatewayError {
  return new GatewayError(
    'invalid_request',
    `The input holds ${chars} characters; this gateway accepts at most ${limit} (CODEX_MAX_PROMPT_CHARS).`,
    { param, code: 'CONTEXT_LENGTH_EXCEEDED' },
  );
}

/**
 * A turn that ran and failed, for an answer that waits for the whole turn (a stream shows the failure in
 * its own events). `result` is what the answer still says about the turn (REST: the turn; /chat: its thread).
 */
export class TurnFailedError extends Error {
  override readonly name = 'TurnFailedError';
  /** The turn's error code, as codex-transport reports it. */
  readonly code: string | null;

  constructor(
    readonly failure: { code?: string | null; message: string; retryAfterMs?: number },
    readonly result: Record<string, unknown> = {},
  ) {
    super(failure.message);
    this.code = failure.code ?? null;
  }
}
