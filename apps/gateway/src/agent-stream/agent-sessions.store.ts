import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { tenantDirName } from '@app/codex-transport';
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
    try {
      const record = JSON.parse(await readFile(this.file(tenant, sessionId), 'utf8')) as SessionRecord;
      return record.sessionId === sessionId ? record.threadId : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async save(tenant: string, sessionId: string, threadId: string): Promise<void> {
    const file = this.file(tenant, sessionId);
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify({ sessionId, threadId, createdAt: Date.now() } satisfies SessionRecord), { mode: 0o600 });
    await rename(temporary, file);
  }

  private file(tenant: string, sessionId: string): string {
    const name = createHash('sha256').update(sessionId).digest('hex');
    return join(this.tenancy.baseDataDir, 'agent-sessions', tenantDirName(tenant), `${name}.json`);
  }
}
