import { Transform, plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Min,
  MinLength,
  type ValidationError,
  validateSync,
} from 'class-validator';
import { readFileSync } from 'node:fs';
import { CATALOG_REQUIRED_FIELDS, type ModelCatalogEntry } from '@app/codex-transport';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number.parseInt(value, 10) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  return value;
};

export const SECURITY_METHODS = ['None', 'Token', 'Keycloak', 'JWT'] as const;
export const BACKENDS = ['app-server', 'exec'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'verbose', 'trace'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export const ISOLATION_MODES = ['namespace', 'off'] as const;
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
export const DEFAULT_MODEL = 'gpt-5-codex';

/** A comma- (or newline-) separated variable's items, trimmed, empty ones left out. */
export const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(/[,\n]/)
    .map((v) => v.trim())
    .filter(Boolean);

/**
 * Every environment variable the gateway reads, validated at boot. Alias names are folded into their
 * first name before validation (see {@link ALIASES}).
 */
export class EnvironmentVariables {
  @IsOptional() @IsString() @MinLength(1) HOST?: string;
  @IsOptional() @Transform(toInt) @Min(0) @Max(65535) @IsInt() PORT?: number;
  @IsOptional() @Transform(toInt) @Min(0) @Max(65535) @IsInt() CODEX_H2_PORT?: number;
  @IsOptional() @IsString() CODEX_PEERS?: string;
  @IsOptional() @IsString() CODEX_H2_PEERS?: string;
  @IsOptional() @Transform(toInt) @Min(1) @Max(999) @IsInt() CODEX_REPLICAS_BEFORE?: number;
  @IsOptional() @Transform(toInt) @Min(0) @Max(999) @IsInt() CODEX_REPLICA_INDEX?: number;
  @IsOptional() @Transform(toBool) @IsBoolean() CODEX_API_USE_TLS?: boolean;
  @IsOptional() @IsString() CODEX_API_TLS_KEY_PATH?: string;
  @IsOptional() @IsString() CODEX_API_TLS_CERT_PATH?: string;

  @IsOptional() @IsString() @MinLength(1) CODEX_MODEL_PROVIDER?: string;
  @IsOptional() @IsString() @MinLength(1) CODEX_MODEL?: string;
  @IsOptional() @IsIn(REASONING_EFFORTS) CODEX_MODEL_REASONING_EFFORT?: string;
  @IsOptional() @IsString() CODEX_API_BASE_URL?: string;
  @IsOptional() @IsString() CODEX_API_KEY?: string;
  @IsOptional() @IsString() CODEX_MODEL_ALIASES?: string;
  @IsOptional() @IsString() CODEX_ADVERTISED_MODELS?: string;
  @IsOptional() @IsString() @MinLength(1) CODEX_MODEL_CATALOG?: string;
  @IsOptional() @IsString() @MinLength(1) CODEX_CA_CERTIFICATE?: string;
  @IsOptional() @IsIn(BACKENDS) CODEX_BACKEND?: string;
  @IsOptional() @IsString() CODEX_BINARY_PATH?: string;
  @IsOptional() @IsString() CODEX_WORKSPACE?: string;
  @IsOptional() @IsString() CODEX_WORKSPACE_ROOTS?: string;
  @IsOptional() @IsIn(['read-only', 'workspace-write', 'danger-full-access']) CODEX_SANDBOX?: string;
  @IsOptional() @IsIn(['untrusted', 'on-request', 'never']) CODEX_APPROVAL_POLICY?: string;
  @IsOptional() @IsString() CODEX_ADD_DIRS?: string;
  @IsOptional() @Transform(toBool) @IsBoolean() CODEX_ENABLE_SEARCH?: boolean;
  @IsOptional() @Transform(toBool) @IsBoolean() CODEX_SHELL_SNAPSHOT?: boolean;
  @IsOptional() @IsIn(ISOLATION_MODES) CODEX_TENANT_ISOLATION?: string;
  @IsOptional() @IsString() CODEX_ISOLATION_HIDE?: string;
  @IsOptional() @Transform(toBool) @IsBoolean() CODEX_ALLOW_FULL_ACCESS_MULTI_TENANT?: boolean;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() CODEX_APPROVAL_TIMEOUT_SECONDS?: number;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() CODEX_TOOL_CALL_TIMEOUT_SECONDS?: number;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() CODEX_TIMEOUT_SECONDS?: number;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() CODEX_MAX_CONCURRENCY?: number;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() CODEX_MAX_PROMPT_CHARS?: number;
  @IsOptional() @Transform(toInt) @Min(0) @IsInt() CODEX_RATE_LIMIT_PER_MINUTE?: number;
  @IsOptional() @Transform(toBool) @IsBoolean() METRICS_PUBLIC?: boolean;
  @IsOptional() @Transform(toInt) @Min(0) @Max(3600) @IsInt() SHUTDOWN_GRACE_SECONDS?: number;
  @IsOptional() @Transform(toInt) @Min(1) @Max(1024) @IsInt() CODEX_STREAM_BUFFER_MB?: number;

  @IsOptional() @IsIn(SECURITY_METHODS) SECURITY_METHOD?: string;
  @IsOptional() @IsString() @MinLength(8) CODEX_GATEWAY_TOKEN?: string;
  @IsOptional() @IsString() CODEX_GATEWAY_TOKENS?: string;
  @IsOptional() @IsString() KEYCLOAK_BASE_URL?: string;
  @IsOptional() @IsString() KEYCLOAK_REALM?: string;
  @IsOptional() @IsString() KEYCLOAK_CLIENT_ID?: string;
  @IsOptional() @IsString() KEYCLOAK_CLIENT_SECRET?: string;
  @IsOptional() @IsString() KEYCLOAK_INTROSPECTION_URL?: string;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() KEYCLOAK_TIMEOUT_SECONDS?: number;
  @IsOptional() @IsString() JWT_JWKS_URL?: string;
  @IsOptional() @IsString() JWT_ISSUER?: string;
  @IsOptional() @IsString() JWT_AUDIENCE?: string;
  @IsOptional() @Transform(toBool) @IsBoolean() ALLOW_USER_ID_OVERRIDE?: boolean;

  @IsOptional() @IsString() @MinLength(1) BASE_DATA_DIR?: string;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() MAX_SESSIONS?: number;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() IDLE_TIMEOUT_SECONDS?: number;
  @IsOptional() @Transform(toInt) @Min(1) @IsInt() CLEANUP_INTERVAL_SECONDS?: number;

  @IsOptional() @IsString() CODEX_CORS_ORIGINS?: string;
  @IsOptional() @Transform(toBool) @IsBoolean() CODEX_STRIP_ANSWER_TAGS?: boolean;
  @IsOptional() @Transform(toBool) @IsBoolean() CODEX_DEBUG_LOG?: boolean;
  @IsOptional() @Transform(toInt) @Min(100) @IsInt() CODEX_LOG_MAX_CHARS?: number;
  @IsOptional() @IsIn(LOG_LEVELS) LOG_LEVEL?: string;
  @IsOptional() @IsIn(LOG_FORMATS) LOG_FORMAT?: string;
  @IsOptional() @IsString() @MinLength(1) CODEX_CLIENT_NAME?: string;
}

/** Second names that mean the same as a first name; the first name wins when both are set. */
export const ALIASES: Record<string, string> = {
  CODEX_PATH: 'CODEX_BINARY_PATH',
  CODEX_WORKING_DIR: 'CODEX_WORKSPACE',
  CODEX_REQUEST_TIMEOUT: 'CODEX_TIMEOUT_SECONDS',
  CODEX_LOG_LEVEL: 'LOG_LEVEL',
  OPENAI_API_KEY: 'CODEX_API_KEY',
};

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((message) =>
      message.startsWith(e.property) ? message : `${e.property}: ${message}`,
    ),
  );
}

/** The replica set: URLs of every peer, as many agent-stream URLs as peers, an ordinal inside the set. */
function checkReplicas(env: EnvironmentVariables, hostname: string | undefined, problems: string[]): void {
  const urls = (variable: 'CODEX_PEERS' | 'CODEX_H2_PEERS') => {
    const values = (env[variable] ?? '')
      .split(/[,\n]/)
      .map((v) => v.trim())
      .filter(Boolean);
    for (const value of values) {
      let protocol = '';
      try {
        protocol = new URL(value).protocol;
      } catch {
        // reported below
      }
      if (protocol !== 'http:' && protocol !== 'https:') {
        problems.push(`${variable} must list http(s) base URLs (${JSON.stringify(value)} is not one)`);
      }
    }
    return values.length;
  };
  const peers = urls('CODEX_PEERS');
  const h2Peers = urls('CODEX_H2_PEERS');
  if (h2Peers > 0 && h2Peers !== peers) {
    problems.push(`CODEX_H2_PEERS must list as many replicas as CODEX_PEERS (${h2Peers}, not ${peers})`);
  }
  const index = replicaIndexOf(env, hostname);
  if (peers > 0 && index >= peers) {
    problems.push(
      `CODEX_REPLICA_INDEX (or the number the hostname ends with) must be an ordinal of the ${peers} ` +
        `CODEX_PEERS (it is ${index})`,
    );
  }
}

/** This replica's ordinal: `CODEX_REPLICA_INDEX`, else the number its hostname ends with (a StatefulSet pod's), else 0. */
export function replicaIndexOf(env: { CODEX_REPLICA_INDEX?: number }, hostname: string | undefined): number {
  const fromHostname = /-(\d+)$/.exec(hostname ?? '')?.[1];
  return env.CODEX_REPLICA_INDEX ?? (fromHostname !== undefined ? Number(fromHostname) : 0);
}

/** The models a request can run: the default, those `/v1/models` lists and the aliases' targets. */
export function servedModels(env: EnvironmentVariables): string[] {
  let aliases: unknown = {};
  try {
    aliases = JSON.parse(env.CODEX_MODEL_ALIASES ?? '{}');
  } catch {
    // reported by checkJson
  }
  const targets = aliases && typeof aliases === 'object' ? Object.values(aliases as Record<string, unknown>) : [];
  return [
    ...new Set([
      env.CODEX_MODEL ?? DEFAULT_MODEL,
      ...list(env.CODEX_ADVERTISED_MODELS),
      ...targets.filter((t): t is string => typeof t === 'string'),
    ]),
  ];
}

/**
 * The models of a `CODEX_MODEL_CATALOG` file: codex's `model_catalog_json` format, `{"models": [...]}`, each
 * model an object with a `slug`. Throws, saying what is wrong.
 */
export function readModelCatalog(path: string): ModelCatalogEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`CODEX_MODEL_CATALOG: cannot read ${path} (${code})`, { cause: error });
  }
  let models: unknown;
  try {
    models = (JSON.parse(text) as { models?: unknown } | null)?.models;
  } catch (error) {
    // Not the parser's message: it quotes the file, which may not be the catalog the operator meant.
    throw new Error(`CODEX_MODEL_CATALOG: ${path} is not valid JSON`, { cause: error });
  }
  const valid = (m: unknown): m is ModelCatalogEntry =>
    Boolean(m) && typeof m === 'object' && typeof (m as { slug?: unknown }).slug === 'string';
  if (!Array.isArray(models) || models.length === 0 || !models.every(valid))
    throw new Error(
      `CODEX_MODEL_CATALOG: ${path} must hold {"models": [...]}, each model an object with a "slug" (codex's model_catalog_json format)`,
    );
  // codex refuses the whole file at a thread's start when a model lacks one of these: say so now.
  const lacking = models
    .map((m) => ({ slug: m.slug, missing: CATALOG_REQUIRED_FIELDS.filter((field) => !(field in m)) }))
    .filter((m) => m.missing.length > 0);
  if (lacking.length > 0)
    throw new Error(
      `CODEX_MODEL_CATALOG: in ${path}, ${lacking.map((m) => `${m.slug} lacks ${m.missing.join(', ')}`).join('; ')} (codex needs every one of these fields of a model)`,
    );
  return models;
}

/**
 * A CODEX_CA_CERTIFICATE codex cannot use is refused at boot: codex only warns on its stderr and falls back
 * to the system's roots, so every turn to a provider that authority signed would fail as unreachable.
 */
function checkCaCertificate(env: EnvironmentVariables, problems: string[]): void {
  const path = env.CODEX_CA_CERTIFICATE;
  if (!path) return;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`CODEX_CA_CERTIFICATE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return;
  }
  if (!/-----BEGIN (TRUSTED )?CERTIFICATE-----/.test(text))
    problems.push(`CODEX_CA_CERTIFICATE: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
}

function checkModelCatalog(env: EnvironmentVariables, problems: string[]): void {
  if (!env.CODEX_MODEL_CATALOG) return;
  try {
    const slugs = new Set(readModelCatalog(env.CODEX_MODEL_CATALOG).map((m) => m.slug));
    const missing = servedModels(env).filter((model) => !slugs.has(model));
    if (missing.length > 0)
      problems.push(
        `CODEX_MODEL_CATALOG describes no ${missing.join(', ')}: codex would run ${missing.length > 1 ? 'them' : 'it'} on fallback metadata and log a warning at every turn (add ${missing.length > 1 ? 'them' : 'it'} to the catalog)`,
      );
  } catch (error) {
    problems.push((error as Error).message);
  }
}

function checkJson(env: EnvironmentVariables, problems: string[]): void {
  if (env.CODEX_MODEL_ALIASES) {
    try {
      const parsed: unknown = JSON.parse(env.CODEX_MODEL_ALIASES);
      if (
        !parsed ||
        typeof parsed !== 'object' ||
        Array.isArray(parsed) ||
        Object.values(parsed as Record<string, unknown>).some((v) => typeof v !== 'string')
      ) {
        problems.push('CODEX_MODEL_ALIASES must be a JSON object mapping alias names to model names');
      }
    } catch {
      problems.push('CODEX_MODEL_ALIASES must be valid JSON (an object of alias → model)');
    }
  }
  if (env.CODEX_GATEWAY_TOKENS) {
    const bad = env.CODEX_GATEWAY_TOKENS.split(',')
      .map((pair) => pair.trim())
      .filter((pair) => pair && !/^[^:\s]+:\S{8,}$/.test(pair));
    if (bad.length > 0)
      problems.push('CODEX_GATEWAY_TOKENS must be comma-separated tenant:token pairs (tokens of 8+ characters)');
  }
  if (env.CODEX_API_USE_TLS && (!env.CODEX_API_TLS_KEY_PATH || !env.CODEX_API_TLS_CERT_PATH)) {
    problems.push('CODEX_API_USE_TLS=true needs CODEX_API_TLS_KEY_PATH and CODEX_API_TLS_CERT_PATH');
  }
  const method = env.SECURITY_METHOD;
  if (method === 'Token' && !env.CODEX_GATEWAY_TOKEN && !env.CODEX_GATEWAY_TOKENS) {
    problems.push('SECURITY_METHOD=Token needs CODEX_GATEWAY_TOKEN or CODEX_GATEWAY_TOKENS');
  }
  if (method === 'Keycloak' && !env.KEYCLOAK_INTROSPECTION_URL && !(env.KEYCLOAK_BASE_URL && env.KEYCLOAK_REALM)) {
    problems.push('SECURITY_METHOD=Keycloak needs KEYCLOAK_INTROSPECTION_URL or KEYCLOAK_BASE_URL and KEYCLOAK_REALM');
  }
  if (method === 'Keycloak' && (!env.KEYCLOAK_CLIENT_ID || !env.KEYCLOAK_CLIENT_SECRET)) {
    problems.push(
      'SECURITY_METHOD=Keycloak needs KEYCLOAK_CLIENT_ID and KEYCLOAK_CLIENT_SECRET (the gateway authenticates to the introspection endpoint)',
    );
  }
  if (env.CODEX_BACKEND === 'exec' && (env.CODEX_APPROVAL_POLICY ?? 'never') !== 'never') {
    problems.push(
      'CODEX_BACKEND=exec runs `codex exec`, which never asks for approvals: CODEX_APPROVAL_POLICY must be never with it (or use CODEX_BACKEND=app-server)',
    );
  }
  if (env.CODEX_SANDBOX === 'danger-full-access' && isMultiTenant(env) && !env.CODEX_ALLOW_FULL_ACCESS_MULTI_TENANT) {
    problems.push(
      "CODEX_SANDBOX=danger-full-access lets every tenant's agent read and write everything the gateway can, other tenants' data and the gateway's secrets included; with several tenants set CODEX_ALLOW_FULL_ACCESS_MULTI_TENANT=true to run it anyway",
    );
  }
  if (method === 'JWT' && !env.JWT_JWKS_URL) problems.push('SECURITY_METHOD=JWT needs JWT_JWKS_URL');
  for (const key of [
    'CODEX_API_BASE_URL',
    'KEYCLOAK_BASE_URL',
    'KEYCLOAK_INTROSPECTION_URL',
    'JWT_JWKS_URL',
  ] as const) {
    const value = env[key];
    if (value && !/^https?:\/\/[^\s]+$/.test(value)) problems.push(`${key} must be an http(s) URL`);
  }
}

/**
 * True when more than one tenant can reach the gateway: several tokens, an identity provider, or a
 * tenant chosen by header.
 */
export function isMultiTenant(env: EnvironmentVariables): boolean {
  const tenants = new Set(
    (env.CODEX_GATEWAY_TOKENS ?? '')
      .split(',')
      .map((pair) => pair.trim())
      .filter(Boolean)
      .map((pair) => pair.slice(0, pair.indexOf(':'))),
  );
  if (env.CODEX_GATEWAY_TOKEN) tenants.add('default');
  return (
    tenants.size > 1 ||
    env.SECURITY_METHOD === 'Keycloak' ||
    env.SECURITY_METHOD === 'JWT' ||
    env.ALLOW_USER_ID_OVERRIDE === true
  );
}

let parsed: { fingerprint: string; env: Readonly<EnvironmentVariables> } | null = null;

/**
 * Folds aliases, validates every variable and throws one {@link ConfigurationError} listing every bad
 * one. Unknown variables are ignored (the environment holds much more than ours). The boot, the config
 * module's check and each configuration namespace all ask: the environment is parsed once, and again only
 * when it has changed (tests build several gateways in one process, each from its own).
 */
export function parseEnvironment(raw: NodeJS.ProcessEnv): Readonly<EnvironmentVariables> {
  const fingerprint = JSON.stringify(Object.entries(raw).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (parsed?.fingerprint === fingerprint) return parsed.env;
  const env = Object.freeze(validateEnvironment(raw));
  parsed = { fingerprint, env };
  return env;
}

function validateEnvironment(raw: NodeJS.ProcessEnv): EnvironmentVariables {
  const folded: Record<string, string> = {};
  for (const [alias, name] of Object.entries(ALIASES)) {
    if (raw[alias] !== undefined && raw[name] === undefined) folded[name] = raw[alias];
  }
  const env = plainToInstance(EnvironmentVariables, { ...raw, ...folded });
  // Empty strings mean "unset" for every variable (compose files often pass VAR= through).
  for (const key of Object.keys(env) as Array<keyof EnvironmentVariables>) {
    if ((env[key] as unknown) === '') delete env[key];
  }
  const problems = describe(validateSync(env, { forbidUnknownValues: false, stopAtFirstError: true }));
  checkJson(env, problems);
  checkModelCatalog(env, problems);
  checkCaCertificate(env, problems);
  checkReplicas(env, raw.HOSTNAME, problems);
  if (problems.length > 0) {
    throw new ConfigurationError(`Invalid configuration (${problems.length}):\n  - ${problems.join('\n  - ')}`);
  }
  return env;
}
