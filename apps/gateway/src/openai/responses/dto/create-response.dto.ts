import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  IsArray,
  IsBoolean,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  NotContains,
  ValidateNested,
} from 'class-validator';
import { AcceptsUnknownFields } from '../../../common/validation/gateway-validation.pipe';
import { IsMetadata } from '../../input/metadata.validator';
import { Refused } from '../../input/refused.validator';

/** The `include` value that asks for token log probabilities, which codex does not return. */
const LOGPROBS_INCLUDE = 'message.output_text.logprobs';

export class ResponseReasoningDto {
  /** The turn's reasoning effort. @example "low" */
  @IsOptional()
  @IsString()
  effort?: string;

  /** Accepted and echoed. @example "auto" */
  @IsOptional()
  @IsString()
  summary?: string;
}

/**
 * OpenAI Responses request. `tools` (functions), `tool_choice`, `parallel_tool_calls` and `text.format` are
 * applied; what codex cannot honour is refused (`top_logprobs`, an `include` of logprobs, `conversation`,
 * `prompt`, `max_tool_calls`); other fields not listed are accepted and ignored; `temperature`, `top_p`, `max_output_tokens`,
 * `tools`, `tool_choice`, `text`, `parallel_tool_calls`, `truncation` and `user` are echoed in the Response object.
 */
@AcceptsUnknownFields()
export class CreateResponseDto {
  /** Model or alias; echoed in the response. @example "gpt-5-codex" */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model?: string;

  /**
   * A string, or message items `{role, content}` whose content is a string or parts (`input_text`,
   * `input_image` with a `data:` URL; `output_text` for assistant messages). The last one must be the user's.
   * @example "Summarize this repository in one sentence."
   */
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }] })
  @Allow()
  input: unknown;

  /**
   * A developer message for this response, placed just before its input. Not re-sent with later
   * responses of the chain (which still see it in the history where it was given).
   * @example "Answer in one sentence."
   */
  @IsOptional()
  @IsString()
  instructions?: string | null;

  /** Continue after this response (the same codex thread), or branch from it if it is not the latest. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  previous_response_id?: string | null;

  /** false: nothing is kept; the response cannot be retrieved or continued. @example true */
  @IsOptional()
  @IsBoolean()
  store?: boolean;

  /** Stream OpenAI response events (also chosen by `Accept: text/event-stream`). @example false */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  /** Return at once with `status: "in_progress"`; poll, stream (`GET ?stream=true`) or cancel it later. */
  @IsOptional()
  @IsBoolean()
  background?: boolean;

  /** Up to 16 string pairs (keys up to 64 characters, values up to 512), echoed and stored. @example {"ticket":"T-42"} */
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string>;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ResponseReasoningDto)
  reasoning?: ResponseReasoningDto;

  @Allow() temperature?: unknown;
  @Allow() top_p?: unknown;
  @Allow() max_output_tokens?: unknown;
  /**
   * Functions the model may call (`{type: "function", name, description, parameters}`): a call is a
   * `function_call` output item while the codex turn waits; send `function_call_output` items to go on.
   */
  @ApiPropertyOptional({ type: 'array', items: { type: 'object', additionalProperties: true } })
  @Allow()
  tools?: unknown;

  /** `"auto"` (default), `"none"`, `"required"` or `{"type":"function","name":…}`. */
  @ApiPropertyOptional({ oneOf: [{ type: 'string', enum: ['auto', 'none', 'required'] }, { type: 'object' }] })
  @Allow()
  tool_choice?: unknown;

  /** `{"format": {"type": "text" | "json_object" | "json_schema", name, schema, strict}}`. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @Allow()
  text?: unknown;

  /** Only `true` (the default): codex lets the model make several calls in one response. */
  @ApiPropertyOptional({ type: 'boolean' })
  @Allow()
  parallel_tool_calls?: unknown;
  @Allow() truncation?: unknown;
  @Allow() user?: unknown;

  /** Refused: conversations of OpenAI's Conversations API are not kept here; continue with `previous_response_id`. */
  @Refused('conversation is not supported: continue a conversation with previous_response_id')
  conversation?: unknown;

  /** Refused: no prompt templates are stored here; send `instructions` and `input`. */
  @Refused('prompt templates are not supported: send instructions and input')
  prompt?: unknown;

  /** Refused: codex's agent decides how many commands and tool calls a turn takes. */
  @Refused("max_tool_calls is not supported: codex's agent decides how many tool calls a turn takes")
  max_tool_calls?: unknown;

  /** Only 0: codex does not return token log probabilities. */
  @Refused('top_logprobs are not available: codex does not return token log probabilities', (v) => v === 0)
  top_logprobs?: number;

  /** Extra output to include; `message.output_text.logprobs` is refused (codex returns none), others accepted. */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @NotContains(LOGPROBS_INCLUDE, {
    each: true,
    message: `include may not ask for ${LOGPROBS_INCLUDE}: codex does not return token log probabilities`,
  })
  include?: string[];
}
