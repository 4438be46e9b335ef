import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { type SandboxMode, tenantWorkspace } from '@app/codex-transport';
import { codexConfig } from '../../config/gateway.config';
import { invalidRequest } from '../errors/gateway-error';

/**
 * What a request may ask of the agent: working directories inside the tenant's workspace roots (after
 * symlinks are resolved), sandbox modes no weaker than the gateway allows, images codex can read. With
 * several tenants each has a workspace of its own (`<CODEX_WORKSPACE>/<tenant>`); other roots the operator
 * lists in CODEX_WORKSPACE_ROOTS are shared by every tenant on purpose.
 */
@Injectable()
export class WorkspacePolicy implements OnModuleInit {
  private shared: string[] | null = null;

  constructor(@Inject(codexConfig.KEY) private readonly codex: ConfigType<typeof codexConfig>) {}

  onModuleInit(): void {
    mkdirSync(this.codex.workspace, { recursive: true });
  }

  /** The tenant's default working directory, its workspace (created if missing). */
  defaultCwd(tenant: string): string {
    const workspace = tenantWorkspace(
      { workspace: this.codex.workspace, tenantWorkspaces: this.codex.multiTenant },
      tenant,
    );
    mkdirSync(workspace, { recursive: true });
    return realpathSync(workspace);
  }

  /**
   * Resolves `cwd` (relative paths against the tenant's workspace) to a real, existing directory inside
   * one of the tenant's workspace roots; throws 400 otherwise.
   */
  resolveCwd(tenant: string, cwd: string | undefined | null, field = 'cwd'): string {
    if (cwd === undefined || cwd === null || cwd === '') return this.defaultCwd(tenant);
    if (typeof cwd !== 'string' || cwd.includes('\0')) throw invalidRequest(`${field} must be a path`);
    const absolute = isAbsolute(cwd) ? resolve(cwd) : resolve(this.defaultCwd(tenant), cwd);
    if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
      throw invalidRequest(`${field} must be an existing directory inside the workspace roots`);
    }
    const real = realpathSync(absolute);
    if (!this.workspaceRoots(tenant).some((root) => isInside(real, root))) {
      throw invalidRequest(`${field} is outside the workspace roots this gateway allows`);
    }
    return real;
  }

  /**
   * Resolves a file path the same way as {@link resolveCwd}; it must exist inside one of the tenant's
   * workspace roots (or of `alsoInside`).
   */
  resolveFile(tenant: string, path: string, field: string, alsoInside: string[] = []): string {
    const absolute = isAbsolute(path) ? resolve(path) : resolve(this.defaultCwd(tenant), path);
    if (path.includes('\0') || !existsSync(absolute) || !statSync(absolute).isFile()) {
      throw invalidRequest(`${field} must be an existing file inside the workspace roots`);
    }
    const real = realpathSync(absolute);
    const extra = alsoInside.filter((dir) => existsSync(dir)).map((dir) => realpathSync(dir));
    if (![...this.workspaceRoots(tenant), ...extra].some((root) => isInside(real, root))) {
      throw invalidRequest(`${field} is outside the workspace roots this gateway allows`);
    }
    return real;
  }

  /** `danger-full-access` only when the gateway itself runs with it. */
  checkSandbox(sandbox: SandboxMode | undefined): void {
    if (sandbox === 'danger-full-access' && this.codex.sandbox !== 'danger-full-access') {
      throw invalidRequest(
        'sandbox "danger-full-access" is not allowed by this gateway (CODEX_SANDBOX must be danger-full-access to permit it)',
      );
    }
  }

  /** codex accepts inline images only (it refuses remote URLs). */
  checkImageUrl(url: string): void {
    if (!/^data:image\/[a-z0-9.+-]+;base64,/i.test(url)) {
      throw invalidRequest('image url must be a data: URL (data:image/...;base64,...); remote URLs are not supported');
    }
  }

  /** The tenant's workspace and the roots every tenant shares (with one tenant: every configured root). */
  private workspaceRoots(tenant: string): string[] {
    if (!this.shared) {
      const workspace = resolve(this.codex.workspace);
      this.shared = this.codex.workspaceRoots
        .filter((root) => !this.codex.multiTenant || resolve(root) !== workspace)
        .map((root) => {
          mkdirSync(root, { recursive: true });
          return realpathSync(root);
        });
    }
    return this.codex.multiTenant ? [this.defaultCwd(tenant), ...this.shared] : this.shared;
  }
}

function isInside(path: string, root: string): boolean {
  if (path === root) return true;
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
