import { ApiProperty } from '@nestjs/swagger';
import { TurnSummaryDto } from '../../threads/dto/thread-response.dto';

export class UsageDto {
  /** @example 5191 */
  inputTokens: number;
  /** @example 0 */
  cachedInputTokens: number;
  /** @example 21 */
  outputTokens: number;
  /** @example 0 */
  reasoningOutputTokens: number;
  /** @example 5212 */
  totalTokens: number;
}

export class TurnResultDto extends TurnSummaryDto {
  /** @example "01a200e2-d2d5-70e0-bc05-26603e9b03b6" */
  threadId: string;
  /** Tokens of every model request the turn made. */
  @ApiProperty({ type: UsageDto, nullable: true })
  usage: UsageDto | null;
}

export class TurnResponseDto {
  turn: TurnResultDto;
}

export class InterruptResponseDto {
  /** @example "01a200e2-d2d5-70e0-bc05-26603e9b03b6" */
  threadId: string;
  /** @example "01a200e2-d2df-7a13-84e5-af011de03a7f" */
  turnId: string;
  /** The interrupt was accepted; the turn ends as `interrupted`. @example true */
  interrupted: boolean;
}
