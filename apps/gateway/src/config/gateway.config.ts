import { isAbsolute, resolve } from 'node:path';
import { registerAs } from '@nestjs/config';
import { type ApprovalPolicy, type SandboxMode, modelCatalogEntry, namesSystemCaBundle } from '@app/codex-transport';
import {
  DEFAULT_MODEL,
  isMultiTenant,
  list,
  parseEnvironment,
  readModelCatalog,
  replicaIndexOf,
  servedModels,
} from './environment';

/** Variables passed through to codex children; everything else (tokens, keys) stays in the gateway. */
const CHILD_ENV_KEYS = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TERM',
  'TMPDIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'CODEX_CA_CERTIFICATE',
  'NODE_EXTRA_CA_CERTS',
  'RUST_LOG',
];

export const serverConfig = registerAs('server', () => {
  const env = parseEnvironment(process.env);
  return {
    host: env.HOST ?? '127.0.0.1',
    port: env.PORT ?? 8000,
    h2Port: env.CODEX_H2_PORT ?? 8001,
    useTls: env.CODEX_API_USE_TLS ?? false,
    tlsKeyPath: env.CODEX_API_TLS_KEY_PATH ?? null,
    tlsCertPath: env.CODEX_API_TLS_CERT_PATH ?? null,
    corsOrigins: list(env.CODEX_CORS_ORIGINS),
    logLevel: env.LOG_LEVEL ?? 'info',
    debugLog: env.CODEX_DEBUG_LOG ?? false,
    logMaxChars: env.CODEX_LOG_MAX_CHARS ?? 4000,
    stripAnswerTags: env.CODEX_STRIP_ANSWER_TAGS ?? false,
    rateLimitPerMinute: env.CODEX_RATE_LIMIT_PER_MINUTE ?? 600,
    metricsPublic: env.METRICS_PUBLIC ?? false,
    shutdownGraceMs: (env.SHUTDOWN_GRACE_SECONDS ?? 25) * 1000,
    /** What a stream may hold for a client that does not read before it is ended (SSE and HTTP/2 alike). */
    streamBufferBytes: (env.CODEX_STREAM_BUFFER_MB ?? 8) * 2 ** 20,
  };
});

/** This replica's ordinal (see {@link replicaIndexOf}). */
export const replicaIndex = (env: { CODEX_REPLICA_INDEX?: number }) => replicaIndexOf(env, process.env.HOSTNAME);

/** The number of replicas `CODEX_PEERS` lists (1 without it). */
export const replicaCount = (env: { CODEX_PEERS?: string }) => Math.max(list(env.CODEX_PEERS).length, 1);

/** Base URLs without a trailing slash (validated with the environment). */
const urls = (value: string | undefined) => list(value).map((url) => url.replace(/\/+$/, ''));

/**
 * Replicas: the base URLs of every replica's HTTP listener, in ordinal order (`CODEX_PEERS`), and this one's
 * ordinal (`CODEX_REPLICA_INDEX`, else the number a StatefulSet pod name ends with). One replica (no peers)
 * serves every tenant itself.
 */
export const replicasConfig = registerAs('replicas', () => {
  const env = parseEnvironment(process.env);
  const peers = urls(env.CODEX_PEERS);
  const index = replicaIndex(env);
  // The agent stream's listeners: given, or each peer's host on this replica's CODEX_H2_PORT (the pods
  // of a StatefulSet share one configuration).
  const given = urls(env.CODEX_H2_PEERS);
  const h2Peers =
    given.length > 0
      ? given
      : peers.map((url) => {
          const h2 = new URL(url);
          h2.protocol = env.CODEX_API_USE_TLS ? 'https:' : 'http:';
          h2.port = String(env.CODEX_H2_PORT ?? 8001);
          return h2.origin;
        });
  // During a replica count change: the count before it (tenants whose owner changed wait for their data).
  const replicasBefore = env.CODEX_REPLICAS_BEFORE ?? null;
  return { peers, h2Peers, index, replicasBefore };
});

export const codexConfig = registerAs('codex', () => {
  const env = parseEnvironment(process.env);
  const baseDataDir = resolve(env.BASE_DATA_DIR ?? './data/codex');
  const apiKey = env.CODEX_API_KEY ?? null;
  const configuredBaseUrl = env.CODEX_API_BASE_URL ?? null;
  const offline = !configuredBaseUrl && !apiKey;
  const providerId = env.CODEX_MODEL_PROVIDER ?? (offline ? 'offline' : 'openai');
  const workspace = resolve(env.CODEX_WORKSPACE ?? resolve(baseDataDir, 'workspace'));
  const roots = list(env.CODEX_WORKSPACE_ROOTS).map((r) => (isAbsolute(r) ? r : resolve(r)));
  const childEnv: NodeJS.ProcessEnv = {};
  for (const key of CHILD_ENV_KEYS) if (process.env[key] !== undefined) childEnv[key] = process.env[key];
  for (const key of Object.keys(process.env)) if (key.startsWith('LC_')) childEnv[key] = process.env[key];
  // codex trusts the system's roots without them, and would parse the whole bundle again at every turn.
  if (namesSystemCaBundle(process.env)) {
    delete childEnv.SSL_CERT_FILE;
    delete childEnv.SSL_CERT_DIR;
  }
  return {
    /** True when the in-process offline provider serves the model (no base URL and no key configured). */
    offline,
    providerId,
    baseUrl: configuredBaseUrl ?? (offline ? null : 'https://api.openai.com/v1'),
    apiKey,
    model: env.CODEX_MODEL ?? DEFAULT_MODEL,
    reasoningEffort: env.CODEX_MODEL_REASONING_EFFORT ?? 'medium',
    modelAliases: env.CODEX_MODEL_ALIASES ? (JSON.parse(env.CODEX_MODEL_ALIASES) as Record<string, string>) : {},
    advertisedModels: list(env.CODEX_ADVERTISED_MODELS),
    /**
     * The catalog of models codex gets: the operator's (`CODEX_MODEL_CATALOG`); on the offline provider, whose
     * models codex does not know, one describing the models it serves; else none (codex's bundled one).
     */
    modelCatalog: env.CODEX_MODEL_CATALOG
      ? readModelCatalog(env.CODEX_MODEL_CATALOG)
      : offline
        ? servedModels(env).map(modelCatalogEntry)
        : null,
    backend: (env.CODEX_BACKEND ?? 'app-server') as 'app-server' | 'exec',
    binaryPath: env.CODEX_BINARY_PATH ?? null,
    workspace,
    workspaceRoots: roots.length > 0 ? roots : [workspace],
    sandbox: (env.CODEX_SANDBOX ?? 'read-only') as SandboxMode,
    approvalPolicy: (env.CODEX_APPROVAL_POLICY ?? 'never') as ApprovalPolicy,
    addDirs: list(env.CODEX_ADD_DIRS).map((d) => resolve(d)),
    enableSearch: env.CODEX_ENABLE_SEARCH ?? false,
    shellSnapshot: env.CODEX_SHELL_SNAPSHOT ?? false,
    /** Several tenants can reach the gateway: each gets a workspace of its own. */
    multiTenant: isMultiTenant(env),
    /** `namespace`: each tenant's codex in namespaces of its own; `off`: as the gateway's user (opted out). */
    isolation: (env.CODEX_TENANT_ISOLATION ?? 'namespace') as 'namespace' | 'off',
    /** Files and directories no codex may see, besides the data dir and the TLS key. */
    isolationHide: list(env.CODEX_ISOLATION_HIDE).map((p) => resolve(p)),
    tlsKeyPath: env.CODEX_API_TLS_KEY_PATH ? resolve(env.CODEX_API_TLS_KEY_PATH) : null,
    approvalTimeoutMs: (env.CODEX_APPROVAL_TIMEOUT_SECONDS ?? 300) * 1000,
    toolCallTimeoutMs: (env.CODEX_TOOL_CALL_TIMEOUT_SECONDS ?? 300) * 1000,
    turnTimeoutMs: (env.CODEX_TIMEOUT_SECONDS ?? 600) * 1000,
    maxConcurrency: env.CODEX_MAX_CONCURRENCY ?? 4,
    maxPromptChars: env.CODEX_MAX_PROMPT_CHARS ?? 200_000,
    clientName: env.CODEX_CLIENT_NAME ?? 'codex-gateway',
    childEnv,
  };
});

export const tenancyConfig = registerAs('tenancy', () => {
  const env = parseEnvironment(process.env);
  return {
    baseDataDir: resolve(env.BASE_DATA_DIR ?? './data/codex'),
    maxSessions: env.MAX_SESSIONS ?? 50,
    idleTimeoutMs: (env.IDLE_TIMEOUT_SECONDS ?? 300) * 1000,
    cleanupIntervalMs: (env.CLEANUP_INTERVAL_SECONDS ?? 60) * 1000,
  };
});

export const authConfig = registerAs('auth', () => {
  const env = parseEnvironment(process.env);
  const tokens = list(env.CODEX_GATEWAY_TOKENS).map((pair) => {
    const i = pair.indexOf(':');
    return { tenant: pair.slice(0, i), token: pair.slice(i + 1) };
  });
  const hasToken = Boolean(env.CODEX_GATEWAY_TOKEN) || tokens.length > 0;
  return {
    method: (env.SECURITY_METHOD ?? (hasToken ? 'Token' : 'None')) as 'None' | 'Token' | 'Keycloak' | 'JWT',
    token: env.CODEX_GATEWAY_TOKEN ?? null,
    tokens,
    allowUserIdOverride: env.ALLOW_USER_ID_OVERRIDE ?? false,
    keycloak: {
      baseUrl: env.KEYCLOAK_BASE_URL ?? null,
      realm: env.KEYCLOAK_REALM ?? null,
      clientId: env.KEYCLOAK_CLIENT_ID ?? null,
      clientSecret: env.KEYCLOAK_CLIENT_SECRET ?? null,
      introspectionUrl: env.KEYCLOAK_INTROSPECTION_URL ?? null,
      timeoutMs: (env.KEYCLOAK_TIMEOUT_SECONDS ?? 5) * 1000,
    },
    jwt: { jwksUrl: env.JWT_JWKS_URL ?? null, issuer: env.JWT_ISSUER ?? null, audience: env.JWT_AUDIENCE ?? null },
  };
});

export const ALL_CONFIG = [serverConfig, codexConfig, tenancyConfig, authConfig, replicasConfig];
