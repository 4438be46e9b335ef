import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { TENANT_NAME_FILE, tenantDirName } from '@app/codex-transport';

/** Where a gateway keeps one tenant's data (every path is the same on every replica: one configuration). */
export interface DataLayout {
  baseDataDir: string;
  workspace: string;
  /** Tenants have workspaces of their own (`<workspace>/<tenant>`), else they share the workspace. */
  tenantWorkspaces: boolean;
}

/** The folders of `BASE_DATA_DIR` that hold a directory per tenant. */
export const TENANT_FOLDERS = ['users', 'responses', 'agent-sessions', 'chat-sessions'] as const;

/** Every directory that holds the tenant's data, existing or not (absolute paths). */
export function tenantDirectories(layout: DataLayout, tenant: string): string[] {
  const name = tenantDirName(tenant);
  const dirs = TENANT_FOLDERS.map((folder) => join(resolve(layout.baseDataDir), folder, name));
  if (layout.tenantWorkspaces) dirs.push(join(resolve(layout.workspace), name));
  return dirs;
}

/** Whether this data dir holds the tenant's codex home (it has been served here). */
export function hasTenant(layout: DataLayout, tenant: string): boolean {
  return existsSync(tenantDirectories(layout, tenant)[0]);
}

/**
 * The tenants whose data this data dir holds: the names of their codex homes, or for a home named by a
 * hash, the name it records. A hashed home that records none (made before names were recorded) is
 * returned as `{ unnamed: dir }`.
 */
export function tenantsIn(layout: DataLayout): Array<{ tenant: string } | { unnamed: string }> {
  const users = join(resolve(layout.baseDataDir), 'users');
  if (!existsSync(users)) return [];
  return readdirSync(users, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const recorded = join(users, entry.name, TENANT_NAME_FILE);
      if (existsSync(recorded)) return { tenant: readFileSync(recorded, 'utf8') };
      return entry.name.startsWith('h-') ? { unnamed: join(users, entry.name) } : { tenant: entry.name };
    });
}

/** A path as it is stored in a hand-over archive: relative to `/`, so it unpacks to the same place. */
export const archivePath = (path: string) => relative('/', path);
