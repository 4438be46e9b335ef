import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Ctx, type RequestContext } from '../common/request-context/request-context';
import { ListSkillsDto, SkillConfigResponseDto, SkillsListResponseDto, WriteSkillConfigDto } from './dto/skills.dto';
import { SkillsService } from './skills.service';

@ApiTags('app-server: skills')
@Controller('api/skills')
export class SkillsController {
  constructor(private readonly skills: SkillsService) {}

  @Post('list')
  @HttpCode(200)
  @ApiOperation({
    summary: "List the skills codex sees: the caller's own (CODEX_HOME/skills), repo skills and built-ins.",
  })
  @ApiOkResponse({ type: SkillsListResponseDto })
  list(@Ctx() ctx: RequestContext, @Body() dto: ListSkillsDto): Promise<SkillsListResponseDto> {
    return this.skills.list(ctx.tenant, dto);
  }

  @Post('config/write')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable or disable a skill (by name or by path).' })
  @ApiOkResponse({ type: SkillConfigResponseDto })
  write(@Ctx() ctx: RequestContext, @Body() dto: WriteSkillConfigDto): Promise<SkillConfigResponseDto> {
    return this.skills.writeConfig(ctx.tenant, dto);
  }
}
