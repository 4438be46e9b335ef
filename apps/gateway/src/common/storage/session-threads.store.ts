import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Inject } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { tenantDirName } from '@app/codex-transport';
import { tenancyConfig } from '../../config/gateway.config';
import { readJsonFile, writeJsonFile } from './owner-only-file';

interface SessionRecord {
  sessionId: string;
  threadId: string;
  createdAt: number;
  /** What the thread was started with that cannot change later (its client tools), as a comparable key. */
  fixed?: string;
}

/** Client-chosen session ids: bounded length, a charset safe in headers and logs. */
export const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Which codex thread a client's session id names, per tenant, kept under `BASE_DATA_DIR/<folder>/<tenant>/`
 * (file names are digests of the session id, owner-only), so a later request with the same id continues
 * the same thread, also after a restart. Another tenant's id is another file: a different session.
 */
export abstract class SessionThreadsStore {
  protected abstract readonly folder: string;

  constructor(@Inject(tenancyConfig.KEY) private readonly tenancy: ConfigType<typeof tenancyConfig>) {}

  async threadOf(tenant: string, sessionId: string): Promise<string | null> {
    return (await this.lookup(tenant, sessionId))?.threadId ?? null;
  }

  /** The session's thread and what that thread was started with. */
  async lookup(tenant: string, sessionId: string): Promise<{ threadId: string; fixed: string } | null> {
    const record = await readJsonFile<SessionRecord>(this.file(tenant, sessionId));
    return record?.sessionId === sessionId ? { threadId: record.threadId, fixed: record.fixed ?? '' } : null;
  }

  save(tenant: string, sessionId: string, threadId: string, fixed = ''): Promise<void> {
    return writeJsonFile(this.file(tenant, sessionId), {
      sessionId,
      threadId,
      createdAt: Date.now(),
      ...(fixed ? { fixed } : {}),
    } satisfies SessionRecord);
  }

  private file(tenant: string, sessionId: string): string {
    const name = createHash('sha256').update(sessionId).digest('hex');
    return join(this.tenancy.baseDataDir, this.folder, tenantDirName(tenant), `${name}.json`);
  }
}
