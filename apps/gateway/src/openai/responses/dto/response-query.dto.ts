import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** `true` and `false` as query strings; anything else is left for the validator to refuse. */
const queryBoolean = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

export class RetrieveResponseQueryDto {
  /** Replay the response's events as server-sent events (live ones follow while it runs). */
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean()
  stream?: boolean;

  /** With `stream`: only the events after this sequence number. @example 3 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(-1)
  starting_after?: number;
}

export class InputItemsQueryDto {
  /** `desc` (newest first, the default) or `asc`. */
  @IsOptional()
  @IsIn(['asc', 'desc'])
  order?: 'asc' | 'desc';

  /** Page size, 1-100. @example 20 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** The id of the item after which the page starts. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  after?: string;
}
