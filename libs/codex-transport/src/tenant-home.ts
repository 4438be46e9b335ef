import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { ResolvedBinary } from './binary';
import { type CodexHomeConfig, PROVIDER_KEY_ENV, tenantDirName, writeCodexHome } from './codex-home/codex-home.writer';
import { CodexErrorCode, CodexTransportError } from './errors/codex-transport.error';
import { findBubblewrap, findOnPath, isolationArgs, programDirs, type TenantView } from './isolation';
import { type CodexTransportOptions, TRANSPORT_DEFAULTS } from './options';

/** The tenant's CODEX_HOME: `<base>/users/<safe tenant name>`. */
export function tenantHome(baseDataDir: string, tenant: string): string {
  return join(resolve(baseDataDir), 'users', tenantDirName(tenant));
}

export function codexHomeConfig(options: CodexTransportOptions): CodexHomeConfig {
  const p = options.provider;
  return {
    model: options.model,
    reasoningEffort: options.reasoningEffort ?? null,
    sandbox: options.sandbox,
    approvalPolicy: options.approvalPolicy,
    addDirs: options.addDirs,
    enableSearch: options.enableSearch,
    shellSnapshot: options.shellSnapshot,
    modelCatalog: options.modelCatalog ?? null,
    provider: {
      id: p.id,
      name: p.name,
      baseUrl: p.baseUrl,
      hasApiKey: Boolean(p.apiKey),
      requestMaxRetries: p.requestMaxRetries ?? TRANSPORT_DEFAULTS.requestMaxRetries,
      streamMaxRetries: p.streamMaxRetries ?? TRANSPORT_DEFAULTS.streamMaxRetries,
      streamIdleTimeoutMs: p.streamIdleTimeoutMs ?? TRANSPORT_DEFAULTS.streamIdleTimeoutMs,
    },
  };
}

/** The tenant's workspace: its own directory under the workspace when tenants have their own, else the workspace. */
export function tenantWorkspace(
  options: Pick<CodexTransportOptions, 'workspace' | 'tenantWorkspaces'>,
  tenant: string,
): string {
  const root = resolve(options.workspace);
  return options.tenantWorkspaces ? join(root, tenantDirName(tenant)) : root;
}

/** The file in a tenant's home that names its tenant (a directory name may be a hash of it). */
export const TENANT_NAME_FILE = '.tenant';

/** codex's databases in its CODEX_HOME, which it creates and migrates when it first starts there. */
const DATABASE_FILE = /\.sqlite(-wal|-shm)?$/;

/**
 * Gives a new home (one without a config.toml) the databases of `seed`, a home the same codex has started
 * in and stopped since, so that the first start in it does not create and migrate them: about a third of
 * a first start (~330 ms → ~240 ms here). The seed holds no tenant's data (the readiness probe's home).
 */
function seedDatabases(seed: string, home: string): void {
  if (existsSync(join(home, 'config.toml'))) return;
  let files: string[];
  try {
    files = readdirSync(seed).filter((f) => DATABASE_FILE.test(f));
  } catch {
    return; // no seed yet: codex makes its databases itself
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  for (const file of files) copyFileSync(join(seed, file), join(home, file));
}

/**
 * Writes the tenant's config.toml (and its name) and makes sure its workspace exists; a new home starts
 * with the databases of `seed` when one is given.
 */
export function prepareTenantHome(
  options: CodexTransportOptions,
  tenant: string,
  home: string,
  workspace: string,
  seed: string | null = null,
): void {
  if (seed) seedDatabases(seed, home);
  writeCodexHome(home, codexHomeConfig(options));
  writeFileSync(join(home, TENANT_NAME_FILE), tenant, { mode: 0o600 });
  mkdirSync(workspace, { recursive: true });
}

/**
 * The command that starts codex (`binary` with `args`) for a tenant: inside its namespaces when the
 * options ask for isolation, else codex itself.
 */
export function codexLaunch(
  options: CodexTransportOptions,
  binary: ResolvedBinary,
  view: TenantView,
  cwd: string,
  args: string[],
): { command: string; args: string[] } {
  if (!options.isolation) {
    // Without the namespaces (whose bubblewrap dies with the gateway), the kernel still stops codex when
    // the gateway dies, even by SIGKILL: `codex exec` would otherwise run its turn to the end unowned.
    const setpriv = findOnPath('setpriv', options.env.PATH);
    return setpriv
      ? { command: setpriv, args: ['--pdeathsig', 'SIGKILL', '--', binary.path, ...args] }
      : { command: binary.path, args };
  }
  const bwrap = findBubblewrap(binary, options.env.PATH);
  if (!bwrap) {
    throw new CodexTransportError(
      CodexErrorCode.START_FAILED,
      'tenant isolation needs bubblewrap (bwrap), and none was found',
      {
        reason: 'no bubblewrap (bwrap) found on PATH or beside the codex binary',
      },
    );
  }
  return {
    command: bwrap,
    args: [...isolationArgs(options.isolation, view, cwd, programDirs(binary)), binary.path, ...args],
  };
}

/** The child's environment: the caller's base env, CODEX_HOME, codex's PATH extras and the provider key. */
export function childEnvironment(
  options: CodexTransportOptions,
  binary: ResolvedBinary,
  home: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...options.env, CODEX_HOME: home };
  if (binary.extraPath.length > 0) {
    env.PATH = [...binary.extraPath, env.PATH ?? ''].filter(Boolean).join(delimiter);
  }
  if (!env.RUST_LOG) env.RUST_LOG = 'warn';
  if (options.provider.apiKey) env[PROVIDER_KEY_ENV] = options.provider.apiKey;
  else delete env[PROVIDER_KEY_ENV];
  return env;
}
