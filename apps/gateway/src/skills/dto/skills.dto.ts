import { ArrayMaxSize, IsArray, IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';

export class ListSkillsDto {
  /** Working directories whose repo skills to include (inside the workspace roots); default: the workspace. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  cwds?: string[];

  /** Re-scan skill folders instead of using codex's cache. @example false */
  @IsOptional()
  @IsBoolean()
  forceReload?: boolean;
}

export class WriteSkillConfigDto {
  /** Skill name (give this or `path`). @example "release-notes" */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  /** Path of the skill's SKILL.md (give this or `name`). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  path?: string;

  /** @example false */
  @IsBoolean()
  enabled: boolean;
}

export class SkillsListResponseDto {
  /** One entry per working directory: its skills (name, description, path, scope, enabled) and load errors. */
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [
      {
        cwd: '/srv/workspace',
        skills: [{ name: 'release-notes', description: 'Write release notes', scope: 'user', enabled: true }],
        errors: [],
      },
    ],
  })
  data: Array<Record<string, unknown>>;
}

export class SkillConfigResponseDto {
  /** Whether the skill is enabled now. @example false */
  effectiveEnabled: boolean;
}
