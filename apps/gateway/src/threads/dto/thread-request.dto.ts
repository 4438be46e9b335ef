import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { APPROVAL_POLICIES, type ApprovalPolicy, SANDBOX_MODES, type SandboxMode } from '@app/codex-transport';

export class ThreadPolicyDto {
  /**
   * Working directory of the thread; must resolve inside the workspace roots.
   * @example "/srv/workspace/my-project"
   */
  @IsOptional()
  @IsString()
  cwd?: string;

  /**
   * When codex asks before running a command.
   * @example "untrusted"
   */
  @IsOptional()
  @IsIn(APPROVAL_POLICIES)
  approvalPolicy?: ApprovalPolicy;

  /**
   * Sandbox for commands. `danger-full-access` only when the gateway allows it.
   * @example "read-only"
   */
  @IsOptional()
  @IsIn(SANDBOX_MODES)
  sandbox?: SandboxMode;

  /**
   * Model for the thread's turns.
   * @example "gpt-5-codex"
   */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model?: string;
}

export class StartThreadDto extends ThreadPolicyDto {
  /**
   * Extra instructions for every turn of the thread (a developer message).
   * @example "Answer in one short paragraph."
   */
  @IsOptional()
  @IsString()
  @MaxLength(100_000)
  developerInstructions?: string;
}

export class ThreadRefDto {
  /**
   * Thread id as returned by /api/thread/start.
   * @example "01a200e2-d2d5-70e0-bc05-26603e9b03b6"
   */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  threadId: string;
}

export class ResumeThreadDto extends ThreadPolicyDto {
  /**
   * Thread to load (again) with optional new settings.
   * @example "01a200e2-d2d5-70e0-bc05-26603e9b03b6"
   */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  threadId: string;
}

export class ReadThreadDto extends ThreadRefDto {
  /**
   * Include every turn with its items.
   * @example true
   */
  @IsOptional()
  @IsBoolean()
  includeTurns?: boolean;
}

export class ForkThreadDto extends ThreadRefDto {
  /**
   * Copy the history only up to and including this turn.
   * @example "01a200e2-d2df-7a13-84e5-af011de03a7f"
   */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  lastTurnId?: string;
}

export class ListThreadsDto {
  /**
   * Page size.
   * @example 20
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  /** Cursor from the previous page's `nextCursor`. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  cursor?: string;
}
