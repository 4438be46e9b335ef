import { Type } from 'class-transformer';
import { ListThreadsDto } from '../../threads/dto/thread-request.dto';
import {
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';

export class ChatMessageItemDto {
  /** @example "Hello!" */
  @IsString()
  content: string;

  /** Accepted for compatibility; every message is the user's. @example "user" */
  @IsOptional()
  @IsIn(['user'])
  role?: string;
}

export class ChatRequestDto {
  /** Continue this thread (one of the caller's); omit to start a new one. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id?: string;

  /** The new message(s); their contents, in order, make the turn's prompt. @example [{"content":"Hello!"}] */
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageItemDto)
  messages: ChatMessageItemDto[];

  /** SSE (default) or one JSON answer. @example true */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  /** Model for a new thread or this turn. @example "gpt-5-codex" */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model?: string;
}

/** `GET /threads?limit=&cursor=` (the same paging as `POST /api/thread/list`). */
export class ThreadsQueryDto extends ListThreadsDto {}

export class HistoryQueryDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  thread_id: string;
}

export class ThreadInfoDto {
  thread_id: string;
  preview: string | null;
  /** ISO 8601. */
  created_at: string | null;
  updated_at: string | null;
}

export class ThreadsResponseDto {
  threads: ThreadInfoDto[];
  next_cursor: string | null;
}

export class HistoryMessageDto {
  /** @example "user" */
  role: 'user' | 'assistant';
  content: string;
  turn_id: string;
}

export class HistoryResponseDto {
  thread_id: string;
  preview: string | null;
  created_at: string | null;
  /** The conversation in order: the user's messages and the agent's replies. */
  messages: HistoryMessageDto[];
  /** Every turn with all its items (commands, file changes, reasoning …). */
  turns: Array<Record<string, unknown>>;
}

export class ChatResponseDto {
  thread_id: string;
  turn_id: string;
  /** completed | interrupted | failed */
  status: string;
  /** The agent's final message. */
  response: string;
  /** Every item of the turn, completed, in order. */
  items: Array<Record<string, unknown>>;
  usage: Record<string, number> | null;
}

export class StatusResponseDto {
  /** ok | unavailable @example "ok" */
  status: string;
  codex_available: boolean;
  /** @example "codex-cli 0.171.0" */
  codex_version: string | null;
  api_key_configured: boolean;
}
