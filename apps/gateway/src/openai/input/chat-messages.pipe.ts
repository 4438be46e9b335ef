import { Injectable, type PipeTransform } from '@nestjs/common';
import { invalidRequest } from '../../common/errors/gateway-error';
import type { PromptMessage, PromptToolCall } from '../../common/turn/prompt';

/** Chat Completions `messages`, parsed: the conversation, and its size as CODEX_MAX_PROMPT_CHARS counts it. */
export interface ChatPrompt {
  messages: PromptMessage[];
  /** Characters of the messages' content as sent (JSON). */
  chars: number;
}

/** A problem with `messages` (OpenAI's `param` names the field). */
const refuse = (message: string) => invalidRequest(message, 'messages');

function partsOf(content: unknown, where: string): { text: string; images: string[] } {
  if (content === null || content === undefined) return { text: '', images: [] };
  if (typeof content === 'string') return { text: content, images: [] };
  if (!Array.isArray(content)) throw refuse(`${where}.content must be a string or an array of parts`);
  const texts: string[] = [];
  const images: string[] = [];
  content.forEach((part: unknown, j) => {
    const p = part as { type?: unknown; text?: unknown; image_url?: unknown } | null;
    if (p?.type === 'text' && typeof p.text === 'string') texts.push(p.text);
    else if (p?.type === 'image_url') {
      const url = typeof p.image_url === 'string' ? p.image_url : (p.image_url as { url?: unknown } | undefined)?.url;
      if (typeof url !== 'string') throw refuse(`${where}.content[${j}].image_url.url is required`);
      images.push(url);
    } else {
      throw refuse(`${where}.content[${j}] must be a text or image_url part`);
    }
  });
  return { text: texts.join('\n'), images };
}

function toolCallsOf(raw: unknown, where: string): PromptToolCall[] {
  if (!Array.isArray(raw)) throw refuse(`${where}.tool_calls must be an array`);
  return raw.map((call: unknown, j) => {
    const c = (call ?? {}) as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };
    if (typeof c.id !== 'string' || typeof c.function?.name !== 'string') {
      throw refuse(`${where}.tool_calls[${j}] needs an id and function.name`);
    }
    const args = c.function.arguments;
    return { id: c.id, name: c.function.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) };
  });
}

/** Every tool message answers a call of an earlier assistant message (OpenAI refuses a conversation where one does not). */
function checkToolPairs(messages: PromptMessage[]): void {
  const calls = new Set<string>();
  messages.forEach((m, i) => {
    for (const call of m.toolCalls ?? []) calls.add(call.id);
    if (m.toolCallId !== undefined && !calls.has(m.toolCallId)) {
      throw refuse(
        `messages[${i}] with role 'tool' answers tool_call_id ${m.toolCallId}, which no earlier assistant message's tool_calls has`,
      );
    }
  });
}

/** Parses `messages` into prompt messages (the DTO has validated their roles, and documents them). */
export function parseChatMessages(raw: unknown): ChatPrompt {
  if (!Array.isArray(raw) || raw.length === 0) throw refuse('messages must be a non-empty array');
  let chars = 0;
  const messages = raw.map((message: unknown, i): PromptMessage => {
    const m = (message ?? {}) as { role?: unknown; content?: unknown; tool_calls?: unknown; tool_call_id?: unknown };
    chars += JSON.stringify(m.content ?? '').length;
    const parsed: PromptMessage = { role: String(m.role), ...partsOf(m.content, `messages[${i}]`) };
    if (m.role === 'assistant' && m.tool_calls !== undefined && m.tool_calls !== null) {
      parsed.toolCalls = toolCallsOf(m.tool_calls, `messages[${i}]`);
      chars += JSON.stringify(m.tool_calls).length;
    }
    if (m.role === 'tool') {
      if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') {
        throw refuse(`messages[${i}].tool_call_id is required for a tool message`);
      }
      parsed.toolCallId = m.tool_call_id;
    }
    return parsed;
  });
  checkToolPairs(messages);
  return { messages, chars };
}

/** `@Body('messages', ChatMessagesPipe)`: the service receives the parsed conversation. */
@Injectable()
export class ChatMessagesPipe implements PipeTransform<unknown, ChatPrompt> {
  transform(value: unknown): ChatPrompt {
    return parseChatMessages(value);
  }
}
