import { describeFailure } from '../common/errors/failure';
import type { TurnWire } from '../common/turn/send-turn';
import { ChatChunkMapper, type ChunkContext, toChatCompletion } from './chat-completions.mapper';
import { openAiError } from '../common/filters/openai-error.filter';
import type { TurnEvent } from './tools/tool-turn';

/**
 * Chat Completions: `chat.completion.chunk`s then `data: [DONE]` (an error once streaming is an OpenAI error
 * chunk before it), or one `chat.completion`. `threadId` is read when the answer is built: the exec backend
 * learns it from the run.
 */
export function chatCompletionsWire(
  ctx: ChunkContext,
  threadId: () => string,
  requestId: string,
): TurnWire<TurnEvent, Record<string, unknown>> {
  const mapper = new ChatChunkMapper(ctx);
  return {
    messages: (event) => mapper.map(event).map((chunk) => ({ data: chunk })),
    streamError: (error) => ({ data: openAiError(describeFailure(error), requestId) }),
    terminator: 'data: [DONE]\n\n',
    fold: (events) => toChatCompletion(ctx, events, threadId()),
  };
}
