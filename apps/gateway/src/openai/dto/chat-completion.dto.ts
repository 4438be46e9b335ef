import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';

import { AcceptsUnknownFields } from '../../common/validation/gateway-validation.pipe';
import { Refused } from '../input/refused.validator';

export const CHAT_ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

export class ChatMessageDto {
  /** @example "user" */
  @IsIn(CHAT_ROLES)
  role: (typeof CHAT_ROLES)[number];

  /**
   * A string, or content parts (`{type:"text",text}`, `{type:"image_url",image_url:{url:"data:…"}}`).
   * @example "Summarize this repository in one sentence."
   */
  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }] })
  @Allow()
  content?: unknown;

  /** An assistant message's function calls (`{id, type: "function", function: {name, arguments}}`). */
  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } })
  @Allow()
  tool_calls?: unknown;

  /** A `tool` message: the call it answers. @example "call_8f3a2c1d9e7b" */
  @IsOptional()
  @IsString()
  tool_call_id?: string;
}

export class StreamOptionsDto {
  /** Send a last chunk with the usage (and empty `choices`). @example true */
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean;
}

export class ReasoningDto {
  /** @example "low" */
  @IsOptional()
  @IsString()
  effort?: string;
}

/**
 * OpenAI Chat Completions request. Fields that ask for what codex cannot give (`n` above 1, `logprobs`, `stop`,
 * the legacy `functions`, audio, web search options) are refused; sampling hints not listed (`temperature`,
 * `max_tokens`, …) are accepted and ignored.
 */
@AcceptsUnknownFields()
export class ChatCompletionRequestDto {
  /** Model or alias; echoed in the response. @example "gpt-5-codex" */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model?: string;

  /** @example [{"role":"user","content":"Summarize this repository in one sentence."}] */
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages: ChatMessageDto[];

  /** @example false */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  /** @example "medium" */
  @IsOptional()
  @IsString()
  reasoning_effort?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ReasoningDto)
  reasoning?: ReasoningDto;

  /**
   * Functions the model may call (`{type: "function", function: {name, description, parameters}}`); they
   * are offered to codex's model next to codex's own tools, and a call ends the response with
   * `tool_calls` while the codex turn waits for the results (send them as `tool` messages).
   */
  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } })
  @Allow()
  tools?: unknown;

  /** `"auto"` (default), `"none"`, `"required"` or `{"type":"function","function":{"name":…}}`. */
  @ApiPropertyOptional({ oneOf: [{ type: 'string', enum: ['auto', 'none', 'required'] }, { type: 'object' }] })
  @Allow()
  tool_choice?: unknown;

  /** Only `true` (the default): codex lets the model make several calls in one response. */
  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean;

  /** `{"type":"text"}`, `{"type":"json_object"}` or `{"type":"json_schema","json_schema":{name, schema, strict}}`. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @Allow()
  response_format?: unknown;

  /** Only 1: codex gives one answer per request. @example 1 */
  @Refused('n must be 1: codex gives one answer per request', (v) => v === 1)
  n?: number;

  /** Only `false`: codex's model client returns no token log probabilities. */
  @Refused('logprobs are not available: codex does not return token log probabilities', (v) => v === false)
  logprobs?: boolean;

  /** Only 0 (with no `logprobs`). */
  @Refused('top_logprobs are not available: codex does not return token log probabilities', (v) => v === 0)
  top_logprobs?: number;

  /**
   * Refused unless empty: codex's model client takes no stop sequences (OpenAI's reasoning models refuse
   * them too).
   */
  @Refused(
    "stop is not supported: codex's model client takes no stop sequences",
    (v) => Array.isArray(v) && v.length === 0,
  )
  stop?: unknown;

  /** Refused unless empty: the legacy form of `tools`. */
  @Refused(
    'functions is not supported: send them as tools ({"type":"function","function":{…}})',
    (v) => Array.isArray(v) && v.length === 0,
  )
  functions?: unknown;

  /** Refused: the legacy form of `tool_choice`. */
  @Refused('function_call is not supported: send tool_choice with tools')
  function_call?: unknown;

  /** Only `["text"]`: codex answers in text. */
  @Refused(
    'modalities may only be ["text"]: codex answers in text',
    (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text',
  )
  modalities?: unknown;

  /** Refused: codex answers in text, not audio. */
  @Refused('audio output is not supported: codex answers in text')
  audio?: unknown;

  /** Refused: whether codex's model may search the web is the operator's setting (CODEX_ENABLE_SEARCH). */
  @Refused('web_search_options is not supported: web search is set by the gateway (CODEX_ENABLE_SEARCH)')
  web_search_options?: unknown;

  /**
   * Extension: also stream codex's own activity — reasoning as `reasoning_content` deltas and each
   * command or file change as a `codex_event` field on a chunk. Strict clients ignore both.
   * @example false
   */
  @IsOptional()
  @IsBoolean()
  codex_events?: boolean;
}
