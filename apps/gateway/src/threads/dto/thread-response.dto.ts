import { ApiProperty } from '@nestjs/swagger';

export class TurnSummaryDto {
  /** @example "01a200e2-d2df-7a13-84e5-af011de03a7f" */
  id: string;
  /** @example "completed" */
  status: 'completed' | 'interrupted' | 'failed' | 'inProgress';
  /** Every item of the turn, in order (user message, reasoning, commands, file changes, agent messages). */
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [
      { type: 'userMessage', id: 'u1', text: 'Write a hello world program in Python', content: [] },
      { type: 'agentMessage', id: 'm1', text: 'print("Hello, world!")' },
    ],
  })
  items: Array<Record<string, unknown>>;
  /** Why the turn failed, if it did. */
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, example: null })
  error: { message: string; code?: string } | null;
}

export class ThreadDto {
  /** @example "01a200e2-d2d5-70e0-bc05-26603e9b03b6" */
  id: string;
  /** First user message (empty until the first turn). @example "Write a hello world program in Python" */
  preview: string;
  /** @example null */
  name: string | null;
  /** Unix seconds. @example 1795311194 */
  createdAt: number;
  /** Unix seconds. @example 1795311195 */
  updatedAt: number;
  /** @example "/srv/workspace" */
  cwd: string;
  /** @example "openai" */
  modelProvider: string;
  /** `idle`, `active`, `notLoaded` or `systemError`. @example "idle" */
  status: string;
  /** The thread this one was forked from. @example null */
  forkedFromId: string | null;
  /** Present when the turns were asked for. */
  turns?: TurnSummaryDto[];
}

export class ThreadSessionDto {
  thread: ThreadDto;
  /** @example "gpt-5-codex" */
  model: string;
  /** @example "openai" */
  modelProvider: string;
  /** @example "/srv/workspace" */
  cwd: string;
  /** @example "never" */
  approvalPolicy: string;
  /** @example "read-only" */
  sandbox: string;
  /** @example "medium" */
  reasoningEffort: string | null;
}

export class ThreadReadDto {
  thread: ThreadDto;
}

export class ThreadListDto {
  /** The caller's threads, newest first. */
  data: ThreadDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}
