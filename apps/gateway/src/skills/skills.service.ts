import { Injectable } from '@nestjs/common';
import { AppServerTransport } from '@app/codex-transport';
import { WorkspacePolicy } from '../common/workspace/workspace-policy';
import type {
  ListSkillsDto,
  SkillConfigResponseDto,
  SkillsListResponseDto,
  WriteSkillConfigDto,
} from './dto/skills.dto';
import { invalidRequest } from '../common/errors/gateway-error';

@Injectable()
export class SkillsService {
  constructor(
    private readonly transport: AppServerTransport,
    private readonly workspace: WorkspacePolicy,
  ) {}

  async list(tenant: string, dto: ListSkillsDto): Promise<SkillsListResponseDto> {
    const cwds = (dto.cwds?.length ? dto.cwds : [undefined]).map((cwd, i) =>
      this.workspace.resolveCwd(tenant, cwd, `cwds[${i}]`),
    );
    const result = await this.transport.listSkills(tenant, { cwds, forceReload: dto.forceReload });
    return { data: result.data as Array<Record<string, unknown>> };
  }

  async writeConfig(tenant: string, dto: WriteSkillConfigDto): Promise<SkillConfigResponseDto> {
    if ((dto.name === undefined) === (dto.path === undefined)) {
      throw invalidRequest('give exactly one of name or path');
    }
    // A skill is a SKILL.md of the tenant's: under its CODEX_HOME or its workspace roots.
    const path =
      dto.path === undefined
        ? undefined
        : this.workspace.resolveFile(tenant, dto.path, 'path', [this.transport.homeOf(tenant)]);
    return this.transport.writeSkillConfig(tenant, { name: dto.name, path, enabled: dto.enabled });
  }
}
