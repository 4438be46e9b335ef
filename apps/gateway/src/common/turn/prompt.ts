import type { TurnInput } from '@app/codex-transport';
import { invalidRequest } from '../errors/gateway-error';

/** One message of a conversation, whatever protocol it came in: its role, its text, its image URLs. */
export interface PromptMessage {
  /** As the protocol names it; `user`, `assistant`, `system` and `developer` have a meaning here. */
  role: string;
  text: string;
  images: string[];
  /** The function calls of an assistant message (a model's earlier response). */
  toolCalls?: PromptToolCall[];
  /** A tool result: the call it answers. */
  toolCallId?: string;
}

export interface PromptToolCall {
  id: string;
  name: string;
  /** JSON text, as the model wrote it. */
  arguments: string;
}

/** A conversation as one codex turn. */
export interface RenderedPrompt {
  /** System and developer messages, joined: a developer message placed before the prompt. */
  instructions: string | undefined;
  /** The last user message, after a transcript of the earlier ones. */
  prompt: string;
  /** The last user message's images. */
  images: string[];
}

const isInstruction = (m: PromptMessage) => m.role === 'system' || m.role === 'developer';

/**
 * Messages → one codex turn. System/developer messages become a developer message before the prompt;
 * earlier turns are written into the prompt as a transcript (a stateless request carries its own
 * history); the last user message is the turn's input. `field` names the request field in errors.
 */
export function renderPrompt(messages: PromptMessage[], field: string): RenderedPrompt {
  const lastUser = messages.map((m) => m.role).lastIndexOf('user');
  if (lastUser === -1) throw invalidRequest(`${field} must contain a user message`, field);
  if (messages.slice(lastUser + 1).some((m) => !isInstruction(m))) {
    throw invalidRequest(`the last message of ${field} must be from the user`, field);
  }
  const instructions = messages
    .filter(isInstruction)
    .map((m) => m.text)
    .filter(Boolean)
    .join('\n\n');
  const history = messages.slice(0, lastUser).filter((m) => !isInstruction(m) && m.text);
  const last = messages[lastUser];
  const prompt =
    history.length > 0
      ? `Earlier in this conversation:\n\n${history.map((m) => `${m.role}: ${m.text}`).join('\n\n')}\n\n---\n\n${last.text}`
      : last.text;
  return { instructions: instructions || undefined, prompt, images: last.images };
}

/** The tool results a conversation ends with (answers to the calls of the model's last response); none when it ends otherwise. */
export function trailingToolResults(messages: PromptMessage[]): Array<{ callId: string; output: string }> {
  let start = messages.length;
  while (start > 0 && messages[start - 1].toolCallId !== undefined) start--;
  return messages.slice(start).map((m) => ({ callId: m.toolCallId!, output: m.text }));
}

/** In a continued conversation only what came after the last assistant reply is new. */
export function newPromptMessages(messages: PromptMessage[]): PromptMessage[] {
  const lastAssistant = messages.map((m) => m.role).lastIndexOf('assistant');
  return messages.slice(lastAssistant + 1).filter((m) => !isInstruction(m));
}

/** A conversation as the Responses-API items codex keeps in a thread's history (see RunTurnParams.history). */
export function historyItems(messages: PromptMessage[]): Array<Record<string, unknown>> {
  return messages.flatMap((m): Array<Record<string, unknown>> => {
    if (m.toolCallId !== undefined) return [{ type: 'function_call_output', call_id: m.toolCallId, output: m.text }];
    if (m.role === 'assistant') {
      const text = m.text
        ? [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: m.text }] }]
        : [];
      const calls = (m.toolCalls ?? []).map((c) => ({
        type: 'function_call',
        call_id: c.id,
        name: c.name,
        arguments: c.arguments,
      }));
      return [...text, ...calls];
    }
    const role = isInstruction(m) ? 'developer' : 'user';
    const content = [
      ...(m.text ? [{ type: 'input_text', text: m.text }] : []),
      ...m.images.map((url) => ({ type: 'input_image', image_url: url })),
    ];
    return content.length > 0 ? [{ type: 'message', role, content }] : [];
  });
}

/**
 * A conversation replayed into a thread as what it was: its items before the turn, and the turn's input —
 * the last user message, or nothing when it ends with tool results (the model goes on from them). Anything
 * else at its end is refused with `refusal` (naming the request field `field`).
 */
export function replayedTurn(
  messages: PromptMessage[],
  refusal: string,
  field: string,
): { history: Array<Record<string, unknown>>; input: TurnInput[]; images: string[] } {
  const last = messages.at(-1)!;
  if (last.toolCallId !== undefined) return { history: historyItems(messages), input: [], images: [] };
  if (last.role !== 'user') throw invalidRequest(refusal, field);
  const input = promptTurnInput({ instructions: undefined, prompt: last.text, images: last.images });
  return { history: historyItems(messages.slice(0, -1)), input, images: last.images };
}

/** The turn's input items: the prompt's text, then its images. */
export function promptTurnInput(rendered: RenderedPrompt): TurnInput[] {
  return [{ type: 'text', text: rendered.prompt }, ...rendered.images.map((url) => ({ type: 'image' as const, url }))];
}
