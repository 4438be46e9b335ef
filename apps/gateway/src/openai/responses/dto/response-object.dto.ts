import { ApiProperty } from '@nestjs/swagger';

export class ResponseOutputItemDto {
  /**
   * `message`, `reasoning`, or codex's own activity: `codex_command_execution`, `codex_file_change`,
   * `codex_tool_call`, `codex_web_search`. Each type has the fields of its kind (see the README).
   * @example "message"
   */
  type: string;
  /** @example "msg_3f0c9b7e2a5d4c3e" */
  id: string;
  /** @example "completed" */
  status?: string;
  /** A message's role. @example "assistant" */
  role?: string;
  /** A message's parts (`output_text` with `text`). */
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    required: false,
    example: [{ type: 'output_text', text: 'Hello!', annotations: [] }],
  })
  content?: Array<Record<string, unknown>>;
}

export class ResponseUsageDto {
  /** @example 5191 */
  input_tokens: number;
  /** @example {"cached_tokens":0} */
  input_tokens_details: { cached_tokens: number };
  /** @example 21 */
  output_tokens: number;
  /** @example {"reasoning_tokens":0} */
  output_tokens_details: { reasoning_tokens: number };
  /** @example 5212 */
  total_tokens: number;
}

export class ResponseErrorDto {
  /** @example "server_error" */
  code: string;
  /** @example "the model provider failed the turn" */
  message: string;
}

/** The OpenAI Response object. Request fields such as `temperature` or `tools` are echoed beside these. */
export class ResponseObjectDto {
  /** @example "resp_3f0c9b7e2a5d4c3e8f1a2b3c4d5e6f70" */
  id: string;
  /** @example "response" */
  object: string;
  /** @example 1795311194 */
  created_at: number;
  @ApiProperty({ type: 'integer', nullable: true, example: 1795311196 })
  completed_at: number | null;
  /** `queued`, `in_progress`, `completed`, `failed`, `incomplete` or `cancelled`. @example "completed" */
  status: string;
  /** @example false */
  background: boolean;
  @ApiProperty({ type: ResponseErrorDto, nullable: true })
  error: ResponseErrorDto | null;
  @ApiProperty({ type: 'object', nullable: true, properties: { reason: { type: 'string' } }, example: null })
  incomplete_details: { reason: string } | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'Answer briefly.' })
  instructions: string | null;
  /** The model named in the request. @example "gpt-5-codex" */
  model: string;
  output: ResponseOutputItemDto[];
  @ApiProperty({ type: 'string', nullable: true, example: null })
  previous_response_id: string | null;
  @ApiProperty({
    type: 'object',
    properties: { effort: { type: 'string', nullable: true }, summary: { type: 'string', nullable: true } },
  })
  reasoning: { effort: string | null; summary: string | null };
  /** @example true */
  store: boolean;
  @ApiProperty({ type: ResponseUsageDto, nullable: true })
  usage: ResponseUsageDto | null;
  /** @example {"ticket":"T-42"} */
  metadata: Record<string, string>;
}

export class DeletedResponseDto {
  /** @example "resp_3f0c9b7e2a5d4c3e8f1a2b3c4d5e6f70" */
  id: string;
  /** @example "response" */
  object: string;
  /** @example true */
  deleted: boolean;
}

export class InputItemListDto {
  /** @example "list" */
  object: string;
  /** The response's input items (`message` items with `role` and `content`). */
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  data: Array<Record<string, unknown>>;
  @ApiProperty({ type: 'string', nullable: true })
  first_id: string | null;
  @ApiProperty({ type: 'string', nullable: true })
  last_id: string | null;
  /** @example false */
  has_more: boolean;
}
