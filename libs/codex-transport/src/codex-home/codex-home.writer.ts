import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type SandboxMode = 'read-only' | 'workspace-write' | 'danger-full-access';
export type ApprovalPolicy = 'untrusted' | 'on-request' | 'never';

export const SANDBOX_MODES: readonly SandboxMode[] = ['read-only', 'workspace-write', 'danger-full-access'];
export const APPROVAL_POLICIES: readonly ApprovalPolicy[] = ['untrusted', 'on-request', 'never'];

/**
 * The approval policies codex accepts as `approval_policy` in config.toml. codex 0.169+ exits at start on
 * `approval_policy = "untrusted"` ("no longer supported; remove this setting") while its JSON-RPC API
 * still takes `untrusted` per thread: that one is sent with every thread instead (see
 * {@link perThreadApprovalPolicy}).
 */
export const FILE_APPROVAL_POLICIES: readonly ApprovalPolicy[] = ['on-request', 'never'];

/** The policy the transport must send with each thread because config.toml cannot hold it; null when the file does. */
export function perThreadApprovalPolicy(policy: ApprovalPolicy): ApprovalPolicy | null {
  return FILE_APPROVAL_POLICIES.includes(policy) ? null : policy;
}

/** Name of the environment variable through which the child gets the provider key. */
export const PROVIDER_KEY_ENV = 'CODEX_GATEWAY_PROVIDER_KEY';

export interface CodexHomeConfig {
  model: string;
  reasoningEffort?: string | null;
  sandbox: SandboxMode;
  approvalPolicy: ApprovalPolicy;
  provider: {
    id: string;
    name: string;
    baseUrl: string;
    /** Only whether a key exists matters here: the key itself never goes on disk. */
    hasApiKey: boolean;
    requestMaxRetries: number;
    streamMaxRetries: number;
    streamIdleTimeoutMs: number;
  };
  /** Extra writable roots for the workspace-write sandbox. */
  addDirs?: string[];
  enableSearch?: boolean;
  /**
   * codex's shell snapshot: a login shell run for every new thread to capture the environment its
   * commands run in. Off unless asked: it is most of what a new thread costs (see the README).
   */
  shellSnapshot?: boolean;
  /**
   * A catalog of models for codex (`model_catalog_json`), for a provider whose models codex does not know
   * (the offline provider's, or an operator's `CODEX_MODEL_CATALOG`): otherwise codex logs "Unknown model …
   * fallback model metadata" several times a turn and warns once a thread. It replaces codex's bundled one.
   */
  modelCatalog?: ModelCatalogEntry[] | null;
}

/** A model as codex's catalog describes it (`slug` and the fields {@link modelCatalogEntry} shows). */
export type ModelCatalogEntry = { slug: string } & Record<string, unknown>;

/**
 * Models codex itself looks up at every turn, whatever model the turn runs (0.171.0: its guardian
 * classifier's). A catalog of the gateway's replaces codex's bundled one, so it names them too: else codex
 * logs "Unknown model … fallback model metadata" at every turn, and its stderr (whose last lines the
 * gateway keeps to explain a crash) holds little else.
 */
export const CODEX_INTERNAL_MODELS = ['gpt-5.6-luna'];

/** The catalog file beside config.toml when {@link CodexHomeConfig.modelCatalog} is set. */
export const MODEL_CATALOG_FILE = 'model-catalog.json';

/**
 * The fields of a catalog model without which codex 0.171.0 refuses the whole catalog (at a thread's start:
 * "failed to parse model_catalog_json … missing field"), found by leaving each field of
 * {@link modelCatalogEntry} out in turn; the others have defaults.
 */
export const CATALOG_REQUIRED_FIELDS = [
  'slug',
  'display_name',
  'supported_reasoning_levels',
  'shell_type',
  'visibility',
  'supported_in_api',
  'priority',
  'base_instructions',
  'support_verbosity',
  'truncation_policy',
  'experimental_supported_tools',
] as const;

/**
 * A catalog entry with what codex assumes for a model it does not know (the same tools, no base
 * instructions, text and image input), so naming a model changes nothing but the warning.
 */
export function modelCatalogEntry(slug: string): ModelCatalogEntry {
  return {
    slug,
    display_name: slug,
    description: 'A model of a provider codex has no metadata for.',
    default_reasoning_level: 'medium',
    supported_reasoning_levels: ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'].map((effort) => ({
      effort,
      description: effort,
    })),
    shell_type: 'unified_exec',
    visibility: 'list',
    supported_in_api: true,
    priority: 0,
    base_instructions: '',
    support_verbosity: false,
    supports_reasoning_summaries: true,
    supports_parallel_tool_calls: true,
    input_modalities: ['text', 'image'],
    truncation_policy: { mode: 'tokens', limit: 10_000 },
    experimental_supported_tools: [],
  };
}

const q = (s: string): string => JSON.stringify(s); // a JSON string is a valid TOML basic string

/** Provider ids codex builds in; config.toml may not redefine them (codex then ignores the whole file). */
export const RESERVED_PROVIDER_IDS: readonly string[] = ['openai', 'ollama', 'lmstudio'];

/** The table name the provider gets in config.toml: its id, or `<id>-custom` for a built-in id. */
export function providerTableId(id: string): string {
  return RESERVED_PROVIDER_IDS.includes(id) ? `${id}-custom` : id;
}

/** Renders the gateway-managed part of config.toml (`home`: where the model catalog, if any, is written). */
export function renderCodexConfig(config: CodexHomeConfig, home?: string): string {
  const p = config.provider;
  const table = providerTableId(p.id);
  const lines = [
    '# Written by codex-gateway on every process start; tables below the managed part are kept.',
    `model = ${q(config.model)}`,
    `model_provider = ${q(table)}`,
    `sandbox_mode = ${q(config.sandbox)}`,
  ];
  if (perThreadApprovalPolicy(config.approvalPolicy) === null)
    lines.push(`approval_policy = ${q(config.approvalPolicy)}`);
  if (config.reasoningEffort) lines.push(`model_reasoning_effort = ${q(config.reasoningEffort)}`);
  if (config.modelCatalog?.length && home) lines.push(`model_catalog_json = ${q(join(home, MODEL_CATALOG_FILE))}`);
  lines.push(`web_search = ${q(config.enableSearch ? 'live' : 'disabled')}`);
  lines.push(
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[features]',
    'plugins = false',
    `shell_snapshot = ${config.shellSnapshot === true}`,
  );
  // codex's model client reads the provider key from its environment; the commands it runs must not get it.
  lines.push('', '[shell_environment_policy]', `exclude = [${q(PROVIDER_KEY_ENV)}]`);
  if (config.addDirs && config.addDirs.length > 0) {
    lines.push('', '[sandbox_workspace_write]', `writable_roots = [${config.addDirs.map(q).join(', ')}]`);
  }
  lines.push(
    '',
    `[model_providers.${q(table)}]`,
    `name = ${q(p.name)}`,
    `base_url = ${q(p.baseUrl)}`,
    'wire_api = "responses"',
    `request_max_retries = ${p.requestMaxRetries}`,
    `stream_max_retries = ${p.streamMaxRetries}`,
    `stream_idle_timeout_ms = ${p.streamIdleTimeoutMs}`,
  );
  if (p.hasApiKey) lines.push(`env_key = ${q(PROVIDER_KEY_ENV)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Keeps the tables codex itself writes into config.toml (`[[skills.config]]` from skills/config/write),
 * so regenerating the managed part does not undo a user's skill settings.
 */
export function preservedTables(existing: string): string {
  const blocks: string[] = [];
  let current: string[] | null = null;
  for (const line of existing.split('\n')) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*$/.exec(line);
    if (header) {
      if (current) blocks.push(current.join('\n').trimEnd());
      current = /^\s*\[\[\s*skills\.config\s*\]\]/.test(line) ? [line] : null;
      continue;
    }
    current?.push(line);
  }
  if (current) blocks.push(current.join('\n').trimEnd());
  return blocks.length > 0 ? `\n${blocks.join('\n\n')}\n` : '';
}

/** Writes `<home>/config.toml` (mode 0600), keeping codex-written skill settings, and the model catalog if any. */
export function writeCodexHome(home: string, config: CodexHomeConfig): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  if (config.modelCatalog?.length) {
    const named = new Set(config.modelCatalog.map((m) => m.slug));
    const models = [
      ...config.modelCatalog,
      ...CODEX_INTERNAL_MODELS.filter((slug) => !named.has(slug)).map(modelCatalogEntry),
    ];
    writeFileSync(join(home, MODEL_CATALOG_FILE), `${JSON.stringify({ models })}\n`, { mode: 0o600 });
  }
  const file = join(home, 'config.toml');
  let existing = '';
  try {
    existing = readFileSync(file, 'utf8');
  } catch {
    // first start of this tenant
  }
  writeFileSync(file, renderCodexConfig(config, home) + preservedTables(existing), { mode: 0o600 });
  chmodSync(file, 0o600); // `mode` above only applies when the file is created
  return file;
}

/**
 * A directory name for a tenant id: readable ids are kept as they are; anything that could
 * traverse, collide with a dot entry or carry odd characters becomes a hash.
 */
export function tenantDirName(tenant: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(tenant) && !tenant.startsWith('h-') && !tenant.includes('..')) {
    return tenant;
  }
  return `h-${createHash('sha256').update(tenant).digest('hex').slice(0, 32)}`;
}
