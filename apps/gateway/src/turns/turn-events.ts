import { isCodexTransportError } from '@app/codex-transport';
import { mapCodexError } from '../common/filters/codex-error-status';

/** The in-band `error` event sent when a turn stream breaks after its headers are out. */
export function turnErrorEvent(threadId: string, error: unknown) {
  const message = isCodexTransportError(error) ? mapCodexError(error).message : 'internal error';
  const code = isCodexTransportError(error) ? error.code : 'INTERNAL';
  return { type: 'error', threadId, turnId: null, message, code, willRetry: false };
}
