import { ApiProperty } from '@nestjs/swagger';

export class ChatCompletionDto {
  /** @example "chatcmpl-3f0c9b7e2a5d4c3e8f1a2b3c4d5e6f70" */
  id: string;
  /** @example "chat.completion" */
  object: string;
  /** @example 1795311194 */
  created: number;
  /** The model named in the request. @example "gpt-5-codex" */
  model: string;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ index: 0, message: { role: 'assistant', content: 'Hello!', refusal: null }, logprobs: null, finish_reason: 'stop' }],
  })
  choices: Array<Record<string, unknown>>;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      prompt_tokens: 5191,
      completion_tokens: 21,
      total_tokens: 5212,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  })
  usage: Record<string, unknown>;
}

export class ModelDto {
  /** @example "gpt-5-codex" */
  id: string;
  /** @example "model" */
  object: string;
  /** @example 1795311194 */
  created: number;
  /** @example "codex-gateway" */
  owned_by: string;
}

export class ModelListDto {
  /** @example "list" */
  object: string;
  data: ModelDto[];
}
