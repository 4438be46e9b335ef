import { mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { ResolvedBinary } from './binary';
import { type CodexHomeConfig, PROVIDER_KEY_ENV, tenantDirName, writeCodexHome } from './codex-home/codex-home.writer';
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

/** Writes the tenant's config.toml and makes sure the workspace exists. */
export function prepareTenantHome(options: CodexTransportOptions, home: string): void {
  writeCodexHome(home, codexHomeConfig(options));
  mkdirSync(options.workspace, { recursive: true });
}

/** The child's environment: the caller's base env, CODEX_HOME, codex's PATH extras and the provider key. */
export function childEnvironment(options: CodexTransportOptions, binary: ResolvedBinary, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...options.env, CODEX_HOME: home };
  if (binary.extraPath.length > 0) {
    env.PATH = [...binary.extraPath, env.PATH ?? ''].filter(Boolean).join(delimiter);
  }
  if (!env.RUST_LOG) env.RUST_LOG = 'warn';
  if (options.provider.apiKey) env[PROVIDER_KEY_ENV] = options.provider.apiKey;
  else delete env[PROVIDER_KEY_ENV];
  return env;
}
