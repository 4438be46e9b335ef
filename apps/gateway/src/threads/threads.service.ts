import { Injectable } from '@nestjs/common';
import { AppServerTransport } from '@app/codex-transport';
import { WorkspacePolicy } from '../common/workspace/workspace-policy';
import type {
  ForkThreadDto,
  ListThreadsDto,
  ReadThreadDto,
  ResumeThreadDto,
  StartThreadDto,
} from './dto/thread-request.dto';
import type { ThreadListDto, ThreadReadDto, ThreadSessionDto } from './dto/thread-response.dto';
import { toThreadDto, toThreadSessionDto } from './thread.mapper';

@Injectable()
export class ThreadsService {
  constructor(
    private readonly transport: AppServerTransport,
    private readonly workspace: WorkspacePolicy,
  ) {}

  async start(tenant: string, dto: StartThreadDto): Promise<ThreadSessionDto> {
    this.workspace.checkSandbox(dto.sandbox);
    const session = await this.transport.startThread(tenant, {
      cwd: this.workspace.resolveCwd(tenant, dto.cwd),
      approvalPolicy: dto.approvalPolicy,
      sandbox: dto.sandbox,
      model: dto.model,
      developerInstructions: dto.developerInstructions,
    });
    return toThreadSessionDto(session);
  }

  async resume(tenant: string, dto: ResumeThreadDto): Promise<ThreadSessionDto> {
    this.workspace.checkSandbox(dto.sandbox);
    const session = await this.transport.resumeThread(tenant, {
      threadId: dto.threadId,
      cwd: dto.cwd === undefined ? undefined : this.workspace.resolveCwd(tenant, dto.cwd),
      approvalPolicy: dto.approvalPolicy,
      sandbox: dto.sandbox,
      model: dto.model,
    });
    return toThreadSessionDto(session, true);
  }

  async read(tenant: string, dto: ReadThreadDto): Promise<ThreadReadDto> {
    const thread = await this.transport.readThread(tenant, dto.threadId, dto.includeTurns ?? false);
    return { thread: toThreadDto(thread, dto.includeTurns ?? false) };
  }

  async fork(tenant: string, dto: ForkThreadDto): Promise<ThreadSessionDto> {
    const session = await this.transport.forkThread(tenant, { threadId: dto.threadId, lastTurnId: dto.lastTurnId });
    return toThreadSessionDto(session, true);
  }

  async list(tenant: string, dto: ListThreadsDto): Promise<ThreadListDto> {
    const page = await this.transport.listThreads(tenant, { limit: dto.limit, cursor: dto.cursor });
    return { data: page.data.map((t) => toThreadDto(t, false)), nextCursor: page.nextCursor };
  }
}
