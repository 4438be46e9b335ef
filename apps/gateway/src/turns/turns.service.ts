import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { AppServerTransport, type CodexEvent, type TurnInput } from '@app/codex-transport';
import type { RequestContext } from '../common/request-context/request-context';
import { WorkspacePolicy } from '../common/workspace/workspace-policy';
import { MetricsService } from '../metrics/metrics.service';
import type { InterruptResponseDto } from './dto/turn-response.dto';
import type { InterruptTurnDto, StartTurnDto, TurnInputDto } from './dto/start-turn.dto';

@Injectable()
export class TurnsService {
  constructor(
    private readonly transport: AppServerTransport,
    private readonly workspace: WorkspacePolicy,
    private readonly metrics: MetricsService,
  ) {}

  /** Checks the request and returns the turn as a cold stream of events (nothing runs until subscribed). */
  prepare({ tenant, requestId }: RequestContext, dto: StartTurnDto): Observable<CodexEvent> {
    this.workspace.checkSandbox(dto.sandbox);
    const cwd = dto.cwd === undefined ? undefined : this.workspace.resolveCwd(tenant, dto.cwd);
    const input = dto.input.map((item, i) => this.toInput(tenant, item, i));
    return this.transport
      .runTurn(tenant, {
        threadId: dto.threadId,
        input,
        model: dto.model,
        effort: dto.effort,
        cwd,
        approvalPolicy: dto.approvalPolicy,
        sandbox: dto.sandbox,
      })
      .pipe(this.metrics.observeTurn({ protocol: 'rest', tenant, requestId }));
  }

  async interrupt(tenant: string, dto: InterruptTurnDto): Promise<InterruptResponseDto> {
    await this.transport.interruptTurn(tenant, dto.threadId, dto.turnId);
    return { threadId: dto.threadId, turnId: dto.turnId, interrupted: true };
  }

  private toInput(tenant: string, item: TurnInputDto, index: number): TurnInput {
    switch (item.type) {
      case 'text':
        return { type: 'text', text: item.text! };
      case 'image':
        this.workspace.checkImageUrl(item.url!);
        return { type: 'image', url: item.url! };
      case 'localImage':
        return { type: 'localImage', path: this.workspace.resolveFile(tenant, item.path!, `input[${index}].path`) };
      case 'skill':
        // A skill is a SKILL.md of the tenant's, as skills/list gives it: under its CODEX_HOME or a workspace root.
        return {
          type: 'skill',
          name: item.name!,
          path: this.workspace.resolveFile(tenant, item.path!, `input[${index}].path`, [this.transport.homeOf(tenant)]),
        };
    }
  }
}
