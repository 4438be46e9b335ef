import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ThreadPolicyDto } from '../../threads/dto/thread-request.dto';

export const INPUT_TYPES = ['text', 'image', 'localImage', 'skill'] as const;
export const EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;

export class TurnInputDto {
  /** `text`, `image` (data: URL), `localImage` (path in the workspace) or `skill`. @example "text" */
  @IsIn(INPUT_TYPES)
  type: (typeof INPUT_TYPES)[number];

  /** For `text`. @example "Write a hello world program in Python" */
  @ValidateIf((o: TurnInputDto) => o.type === 'text')
  @IsString()
  @IsNotEmpty()
  text?: string;

  /** For `image`: a data: URL. */
  @ValidateIf((o: TurnInputDto) => o.type === 'image')
  @IsString()
  @IsNotEmpty()
  url?: string;

  /** For `localImage` and `skill`: a path inside the workspace (or the skill's SKILL.md). */
  @ValidateIf((o: TurnInputDto) => o.type === 'localImage' || o.type === 'skill')
  @IsString()
  @IsNotEmpty()
  path?: string;

  /** For `skill`: the skill's name. */
  @ValidateIf((o: TurnInputDto) => o.type === 'skill')
  @IsString()
  @IsNotEmpty()
  name?: string;
}

/** Turn-level overrides (`cwd`, `approvalPolicy`, `sandbox`, `model`) apply to this turn and the thread's next ones. */
export class StartTurnDto extends ThreadPolicyDto {
  /** @example "01a200e2-d2d5-70e0-bc05-26603e9b03b6" */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  threadId: string;

  /** What the user says this turn. @example [{"type":"text","text":"Write a hello world program in Python"}] */
  @IsArray()
  @ArrayMinSize(1, { message: 'input must contain at least one item' })
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => TurnInputDto)
  input: TurnInputDto[];

  /** Reasoning effort. @example "medium" */
  @IsOptional()
  @IsIn(EFFORTS)
  effort?: (typeof EFFORTS)[number];

  /**
   * `true`: answer with server-sent events as the turn runs (same as `Accept: text/event-stream`);
   * otherwise the call waits for the turn to end.
   * @example false
   */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;
}

export class InterruptTurnDto {
  /** @example "01a200e2-d2d5-70e0-bc05-26603e9b03b6" */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  threadId: string;

  /** @example "01a200e2-d2df-7a13-84e5-af011de03a7f" */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  turnId: string;
}
