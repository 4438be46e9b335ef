import { ApiProperty } from '@nestjs/swagger';

export class ChatCompletionMessageDto {
  /** @example "assistant" */
  role: string;
  /** The answer (codex's final agent message). @example "Hello!" */
  content: string | null;
  /** Always null (codex does not refuse in this field). */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  refusal: string | null;
  /** Extension (`codex_events: true`): codex's reasoning summary. */
  reasoning_content?: string;
}

export class ChatCompletionChoiceDto {
  /** @example 0 */
  index: number;
  message: ChatCompletionMessageDto;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: null })
  logprobs: Record<string, unknown> | null;
  /** `stop`, or `length` when the turn was cut short. @example "stop" */
  finish_reason: string;
}

export class ChatCompletionUsageDto {
  /** @example 5191 */
  prompt_tokens: number;
  /** @example 21 */
  completion_tokens: number;
  /** @example 5212 */
  total_tokens: number;
  /** @example {"cached_tokens":0} */
  prompt_tokens_details: { cached_tokens: number };
  /** @example {"reasoning_tokens":0} */
  completion_tokens_details: { reasoning_tokens: number };
}

export class ChatCompletionDto {
  /** @example "chatcmpl-3f0c9b7e2a5d4c3e8f1a2b3c4d5e6f70" */
  id: string;
  /** @example "chat.completion" */
  object: string;
  /** @example 1795311194 */
  created: number;
  /** The model named in the request. @example "gpt-5-codex" */
  model: string;
  choices: ChatCompletionChoiceDto[];
  usage: ChatCompletionUsageDto;
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
