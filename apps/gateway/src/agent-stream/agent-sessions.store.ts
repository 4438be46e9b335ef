import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { tenantDirName } from '@app/codex-transport';
import { readJsonFile, writeJsonFile } from '../common/storage/owner-only-file';
import { tenancyConfig } from '../config/gateway.config';

interface SessionRecord {
  sessionId: string;
  threadId: string;
  createdAt: number;
}

/**
 * Which codex thread an agent-stream `sessionId` names, per tenant, kept under
 * `BASE_DATA_DIR/agent-sessions/<tenant>/` (file names are digests of the session id, owner-only), so a
 * new stream with the same id continues the same thread, also after a restart.
 */
@Injectable()
export class AgentSessionsStore {
  constructor(@Inject(tenancyConfig.KEY) private readonly tenancy: ConfigType<typeof tenancyConfig>) {}

  async threadOf(tenant: string, sessionId: string): Promise<string | null> {
    const record = await readJsonFile<SessionRecord>(this.file(tenant, sessionId));
    return record?.sessionId === sessionId ? record.threadId : null;
  }

  save(tenant: string, sessionId: string, threadId: string): Promise<void> {
    return writeJsonFile(this.file(tenant, sessionId), {
      sessionId,
      threadId,
      createdAt: Date.now(),
    } satisfies SessionRecord);
  }

  private file(tenant: string, sessionId: string): string {
    const name = createHash('sha256').update(sessionId).digest('hex');
    return join(this.tenancy.baseDataDir, 'agent-sessions', tenantDirName(tenant), `${name}.json`);
  }
}
