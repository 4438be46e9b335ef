import { describeFailure } from '../common/errors/failure';

/** The in-band `error` event sent when a turn stream breaks after its headers are out. */
export function turnErrorEvent(threadId: string, error: unknown) {
  const failure = describeFailure(error);
  const code = failure.unexpected ? 'INTERNAL' : (failure.code ?? 'INTERNAL');
  return { type: 'error', threadId, turnId: null, message: failure.message, code, willRetry: false };
}
