import { randomBytes } from 'node:crypto';
import { Injectable, type PipeTransform } from '@nestjs/common';
import { invalidRequest } from '../../common/errors/gateway-error';
import type { PromptMessage } from '../../common/turn/prompt';
import type { InputItem, MessageInputItem } from '../responses/responses.store';

/** A problem with `input` (OpenAI's `param` names the field). */
const refuse = (message: string) => invalidRequest(message, 'input');

const ROLES = new Set(['user', 'system', 'developer', 'assistant']);

function itemId(prefix = 'msg'): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

/** Output items of the gateway's own that clients send back with their history; they carry nothing for the model. */
const INFORMATIVE = /^(reasoning|codex_[a-z_]+)$/;

/** A function tool's output: a string, or content parts whose text is joined. */
function outputText(output: unknown, where: string): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) {
    return output
      .map((part: unknown, j) => {
        const p = part as { type?: unknown; text?: unknown } | null;
        if (p && (p.type === 'input_text' || p.type === 'output_text') && typeof p.text === 'string') return p.text;
        throw refuse(`${where}.output[${j}] must be a text part (input_text)`);
      })
      .join('\n');
  }
  throw refuse(`${where}.output must be a string or an array of text parts`);
}

function functionItem(raw: Record<string, unknown>, where: string): InputItem {
  if (typeof raw.call_id !== 'string' || raw.call_id === '') throw refuse(`${where}.call_id is required`);
  if (raw.type === 'function_call_output') {
    return {
      id: typeof raw.id === 'string' ? raw.id : itemId('fco'),
      type: 'function_call_output',
      call_id: raw.call_id,
      output: outputText(raw.output, where),
      status: 'completed',
    };
  }
  if (typeof raw.name !== 'string' || raw.name === '') throw refuse(`${where}.name is required`);
  const args = raw.arguments;
  return {
    id: typeof raw.id === 'string' ? raw.id : itemId('fc'),
    type: 'function_call',
    call_id: raw.call_id,
    name: raw.name,
    arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
    status: 'completed',
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function normalizePart(part: unknown, where: string, role: string): Record<string, unknown> {
  if (!isRecord(part)) throw refuse(`${where} must be an object`);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      if (typeof part.text !== 'string') throw refuse(`${where}.text must be a string`);
      return { type: role === 'assistant' ? 'output_text' : 'input_text', text: part.text };
    case 'input_image': {
      if (typeof part.image_url !== 'string') {
        throw refuse(`${where}.image_url must be a data: URL (file_id images are not supported)`);
      }
      return {
        type: 'input_image',
        image_url: part.image_url,
        detail: typeof part.detail === 'string' ? part.detail : 'auto',
      };
    }
    default:
      throw refuse(`${where}.type must be input_text or input_image (got ${JSON.stringify(part.type ?? null)})`);
  }
}

/** The request's `input` as message items (a string is one user message). */
export function normalizeInput(input: unknown): InputItem[] {
  if (typeof input === 'string') {
    if (input.length === 0) throw refuse('input must not be empty');
    return [
      {
        id: itemId(),
        type: 'message',
        role: 'user',
        status: 'completed',
        content: [{ type: 'input_text', text: input }],
      },
    ];
  }
  if (!Array.isArray(input) || input.length === 0) {
    throw refuse('input must be a non-empty string or a non-empty array of message items');
  }
  const items = input.flatMap((raw, i): InputItem[] => {
    const where = `input[${i}]`;
    if (!isRecord(raw)) throw refuse(`${where} must be an object`);
    if (raw.type === 'function_call' || raw.type === 'function_call_output') return [functionItem(raw, where)];
    if (typeof raw.type === 'string' && INFORMATIVE.test(raw.type)) return [];
    if (raw.type !== undefined && raw.type !== 'message') {
      throw refuse(
        `${where}.type ${JSON.stringify(raw.type)} is not supported; send message, function_call or function_call_output items`,
      );
    }
    if (typeof raw.role !== 'string' || !ROLES.has(raw.role)) {
      throw refuse(`${where}.role must be one of user, system, developer, assistant`);
    }
    const role = raw.role as MessageInputItem['role'];
    let content: Array<Record<string, unknown>>;
    if (typeof raw.content === 'string')
      content = [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: raw.content }];
    else if (Array.isArray(raw.content))
      content = raw.content.map((p, j) => normalizePart(p, `${where}.content[${j}]`, role));
    else throw refuse(`${where}.content must be a string or an array of parts`);
    return [{ id: itemId(), type: 'message', role, status: 'completed', content }];
  });
  if (items.length === 0) throw refuse('input holds no message or function call items');
  return items;
}

/** Input items as prompt messages: their text parts joined, their images' URLs. */
export function promptMessages(items: InputItem[]): PromptMessage[] {
  return items.map((item): PromptMessage => {
    if (item.type === 'function_call') {
      return {
        role: 'assistant',
        text: '',
        images: [],
        toolCalls: [{ id: item.call_id, name: item.name, arguments: item.arguments }],
      };
    }
    if (item.type === 'function_call_output') {
      return { role: 'tool', text: item.output, images: [], toolCallId: item.call_id };
    }
    return messagePrompt(item);
  });
}

function messagePrompt(item: MessageInputItem): PromptMessage {
  return {
    role: item.role,
    text: item.content
      .filter((part) => part.type !== 'input_image')
      .map((part) => part.text as string)
      .join('\n'),
    images: item.content.filter((part) => part.type === 'input_image').map((part) => part.image_url as string),
  };
}

/** Characters of text the items hold (for CODEX_MAX_PROMPT_CHARS). */
export function inputChars(items: InputItem[], instructions: string | null | undefined): number {
  const size = (item: InputItem) =>
    item.type === 'message'
      ? JSON.stringify(item.content).length
      : item.type === 'function_call'
        ? item.arguments.length
        : item.output.length;
  return items.reduce((n, item) => n + size(item), instructions?.length ?? 0);
}

/** `@Body('input', ResponseInputPipe)`: the service receives message items. */
@Injectable()
export class ResponseInputPipe implements PipeTransform<unknown, InputItem[]> {
  transform(value: unknown): InputItem[] {
    return normalizeInput(value);
  }
}
