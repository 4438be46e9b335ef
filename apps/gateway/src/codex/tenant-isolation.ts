import { existsSync, lstatSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { ConfigType } from '@nestjs/config';
import {
  allOnPath,
  findBubblewrap,
  isolationUnavailable,
  resolveCodexBinary,
  type TenantIsolation,
} from '@app/codex-transport';
import { ConfigurationError } from '../config/environment';
import type { codexConfig, tenancyConfig } from '../config/gateway.config';

/** Where container platforms mount credentials (Kubernetes service-account tokens, Docker secrets). */
const MOUNTED_SECRETS = ['/var/run/secrets', '/run/secrets'];

/**
 * Programs every codex runs at each start only to name the OS in its user agent (`lsb_release -a`, twice:
 * ~50 ms each here, where it is a shell script that starts a dozen processes; a Python script on Ubuntu).
 * In a tenant's namespace they are masked (run, they fail with "Permission denied"): codex then reads
 * /etc/os-release, which stays, for the same answer. A new tenant's codex initializes ~100 ms sooner.
 */
const MASKED_PROGRAMS = ['lsb_release'];

/** How tenants' agents are kept apart, decided once at boot (see {@link decideIsolation}). */
export class TenantIsolationState {
  constructor(
    /** `namespace`: every codex in namespaces of its own; `off`: as the gateway's user. */
    readonly mode: 'namespace' | 'off',
    /** Why it is off (an operator's choice, danger-full-access, or a platform without namespaces). */
    readonly reason: string | null,
    readonly isolation: TenantIsolation | null,
  ) {}
}

/**
 * What every tenant's codex must not see — the data dir (other tenants' homes, responses, sessions), the
 * parent of per-tenant workspaces, the TLS key, mounted credentials, what the operator lists — and checks
 * that bubblewrap can build such a view here. A platform that cannot (no unprivileged user namespaces)
 * stops the boot of a multi-tenant gateway unless the operator opted out (CODEX_TENANT_ISOLATION=off).
 */
export function decideIsolation(
  codex: ConfigType<typeof codexConfig>,
  tenancy: ConfigType<typeof tenancyConfig>,
): TenantIsolationState {
  if (codex.sandbox === 'danger-full-access') {
    return new TenantIsolationState(
      'off',
      'CODEX_SANDBOX=danger-full-access: commands run without a sandbox or namespaces',
      null,
    );
  }
  if (codex.isolation === 'off') return new TenantIsolationState('off', 'CODEX_TENANT_ISOLATION=off', null);
  // Secrets are hidden where they lie when each codex starts (see isolationArgs). A file of a Kubernetes
  // secret volume is a link through `..data` to a directory named by its version, replaced whole when the
  // secret changes: the volume is hidden whole, so that no version is ever visible to a tenant's codex,
  // including those already running when it changes.
  const hidden = [...MOUNTED_SECRETS, ...codex.isolationHide, ...(codex.tlsKeyPath ? [codex.tlsKeyPath] : [])]
    .filter((path) => existsSync(path))
    .map((path) => (!isDirectory(path) && inSecretVolume(path) ? dirname(path) : path));
  const isolation: TenantIsolation = {
    // With one tenant the workspace is its own; with several, each has a directory under it.
    hiddenDirs: [tenancy.baseDataDir, ...(codex.multiTenant ? [codex.workspace] : []), ...hidden.filter(isDirectory)],
    hiddenFiles: [
      ...new Set([
        ...hidden.filter((path) => !isDirectory(path)),
        ...MASKED_PROGRAMS.flatMap((name) => allOnPath(name, codex.childEnv.PATH)).map((path) => realpathSync(path)),
      ]),
    ],
    sharedDirs: [
      ...codex.workspaceRoots.filter((root) => resolve(root) !== resolve(codex.workspace)),
      ...codex.addDirs,
    ],
    // The CA certificates codex is given, wherever they are mounted (a secret's directory is hidden).
    publicFiles: [
      codex.childEnv.CODEX_CA_CERTIFICATE,
      codex.childEnv.SSL_CERT_FILE,
      ...(codex.childEnv.SSL_CERT_DIR?.split(delimiter) ?? []),
    ].filter((path): path is string => path !== undefined && isAbsolute(path)),
  };
  let bwrap: string | null;
  try {
    bwrap = findBubblewrap(resolveCodexBinary(codex.binaryPath), codex.childEnv.PATH);
  } catch {
    // No codex binary: nothing can start, and readiness says why.
    return new TenantIsolationState('namespace', null, isolation);
  }
  const probeHome = join(tenancy.baseDataDir, 'health');
  const probe = { home: probeHome, workspace: join(probeHome, 'workspace') };
  const unavailable = isolationUnavailable(bwrap, isolation, probe);
  if (!unavailable) return new TenantIsolationState('namespace', null, isolation);
  // Where the namespaces work but not with the paths configured, that is the operator's to fix, with one
  // tenant as with several: codex does not silently run without the isolation asked for.
  const bare: TenantIsolation = { hiddenDirs: [], hiddenFiles: [], sharedDirs: [], publicFiles: [] };
  if (bwrap && !isolationUnavailable(bwrap, bare, probe)) {
    throw new ConfigurationError(
      `Tenant isolation could not be set up with the paths configured (${unavailable}), though this platform supports it. ` +
        'Check the paths in BASE_DATA_DIR, CODEX_WORKSPACE, CODEX_WORKSPACE_ROOTS, CODEX_ADD_DIRS, CODEX_ISOLATION_HIDE, ' +
        'CODEX_API_TLS_KEY_PATH, CODEX_CA_CERTIFICATE, SSL_CERT_FILE and SSL_CERT_DIR, or set CODEX_TENANT_ISOLATION=off ' +
        'to run without isolation.',
    );
  }
  if (codex.multiTenant) {
    throw new ConfigurationError(
      `Tenant isolation is not available on this platform (${unavailable}). With several tenants the gateway does not run ` +
        "without it: every tenant's agent could read the others' data. It needs unprivileged user namespaces and a /proc it " +
        'may mount (in a container: podman run --security-opt unmask=/proc/*, docker run --security-opt systempaths=unconfined, ' +
        'Kubernetes hostUsers: false with procMount: Unmasked), or set CODEX_TENANT_ISOLATION=off to run without isolation anyway.',
    );
  }
  return new TenantIsolationState('off', `unavailable: ${unavailable}`, null);
}

/** A file of a Kubernetes secret (or config map) volume: a link beside the volume's `..data` link. */
function inSecretVolume(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && lstatSync(join(dirname(path), '..data')).isSymbolicLink();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
