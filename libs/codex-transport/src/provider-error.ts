import { CodexErrorCode } from './errors/codex-transport.error';
import type { TurnError } from './events';

/**
 * What a client may read of a failed model request: codex's words without the provider's URL, the
 * provider's own error message instead of its raw JSON body, and a refused credential said plainly (it is
 * the gateway's key, not the client's request, that the provider refused).
 */
export function providerErrorMessage(raw: string): string {
  let text = raw.replace(/,?\s*url:\s*\S+/gi, '').replace(/\bhttps?:\/\/[^\s,)"'\]]+/gi, '<provider>');
  const status = /\b(?:unexpected status|last status:?)\s+(\d{3})(?:\s+([A-Za-z][A-Za-z ]*[A-Za-z]))?/i.exec(text);
  if (status && (status[1] === '401' || status[1] === '403')) {
    return `the model provider refused the gateway's credentials (HTTP ${status[1]}${status[2] ? ` ${status[2]}` : ''})`;
  }
  const body = /\{[\s\S]*\}/.exec(text);
  if (body) {
    try {
      const parsed = JSON.parse(body[0]) as { error?: { message?: unknown } | string; message?: unknown };
      const message = typeof parsed.error === 'object' ? parsed.error?.message : (parsed.error ?? parsed.message);
      if (typeof message === 'string' && message) text = text.replace(body[0], message);
    } catch {
      // not JSON: keep the text
    }
  }
  return text.trim();
}

/**
 * A failed model request as the gateway reports it: who caused it (the client's input, the provider's limit,
 * the gateway's credentials, the provider itself), from codex's error category (`codexErrorInfo`), the HTTP
 * status it names, and the provider's error body.
 */
export function providerFailure(raw: string, info?: unknown): TurnError {
  const message = providerErrorMessage(raw) || 'the model request failed';
  const status = statusOf(raw, info);
  const body = /\{[\s\S]*\}/.exec(raw);
  let type: unknown;
  let code: unknown;
  try {
    const error = body ? (JSON.parse(body[0]) as { error?: { type?: unknown; code?: unknown } }).error : undefined;
    type = error?.type;
    code = error?.code;
  } catch {
    // not JSON
  }
  if (info === 'contextWindowExceeded' || code === 'context_length_exceeded') {
    return { code: CodexErrorCode.CONTEXT_LENGTH_EXCEEDED, message };
  }
  if (info === 'rateLimitExceeded' || status === 429) {
    const wait = /try again in (\d+(?:\.\d+)?)\s*(ms|s)\b/i.exec(raw);
    const retryAfterMs = wait ? Math.ceil(Number(wait[1]) * (wait[2].toLowerCase() === 'ms' ? 1 : 1000)) : undefined;
    return { code: CodexErrorCode.PROVIDER_RATE_LIMITED, message, ...(retryAfterMs ? { retryAfterMs } : {}) };
  }
  const refused = status !== null && [400, 404, 413, 422].includes(status);
  if (info === 'badRequest' || refused || (status === null && type === 'invalid_request_error')) {
    return { code: CodexErrorCode.PROVIDER_REJECTED, message };
  }
  return { code: CodexErrorCode.PROVIDER_ERROR, message };
}

/** The provider's HTTP status in codex's error category or its message, if either names one. */
function statusOf(raw: string, info: unknown): number | null {
  if (info && typeof info === 'object') {
    for (const detail of Object.values(info as Record<string, unknown>)) {
      const status = (detail as { httpStatusCode?: unknown } | null)?.httpStatusCode;
      if (typeof status === 'number') return status;
    }
  }
  const named = /\b(?:unexpected status|last status:?)\s+(\d{3})\b/i.exec(raw);
  return named ? Number(named[1]) : null;
}
