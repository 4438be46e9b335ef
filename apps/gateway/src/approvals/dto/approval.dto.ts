import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { APPROVAL_DECISIONS, type ApprovalDecision } from '@app/codex-transport';

export class ListApprovalsQueryDto {
  /** Only this thread's approvals. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  threadId?: string;
}

export class AnswerApprovalDto {
  /**
   * `accept`, `acceptForSession` (do not ask again for this command in this thread), `decline` (the turn
   * goes on without it) or `cancel` (decline and stop the turn).
   * @example "accept"
   */
  @IsIn(APPROVAL_DECISIONS)
  decision: ApprovalDecision;
}

export class ApprovalDto {
  /** @example "appr_3f0c9b7e2a5d4c3e8f1a2b3c4d5e6f70" */
  id: string;
  /** `command` or `fileChange`. @example "command" */
  kind: string;
  threadId: string;
  turnId: string;
  itemId: string | null;
  /** @example "/bin/bash -lc 'touch notes.txt'" */
  command: string | null;
  cwd: string | null;
  /** Why codex asks, when the model said. */
  reason: string | null;
  /** @example ["accept","acceptForSession","decline","cancel"] */
  availableDecisions: string[];
  /** When codex asked (ISO 8601). */
  createdAt: string;
  /** Seconds it has been waiting. @example 3 */
  ageSeconds: number;
}

export class ApprovalListDto {
  data: ApprovalDto[];
}

export class ApprovalAnswerResponseDto {
  /** @example "appr_3f0c9b7e2a5d4c3e8f1a2b3c4d5e6f70" */
  id: string;
  /** @example "accept" */
  decision: string;
  /** @example "resolved" */
  status: 'resolved';
}
