import { availableParallelism } from 'node:os';
import type { ApprovalPolicy, ModelCatalogEntry, SandboxMode } from './codex-home/codex-home.writer';
import type { OutgoingMessage } from './app-server/json-rpc-connection';
import type { TenantIsolation } from './isolation';
import type { TransportLogger } from './logger';

export interface ProviderOptions {
  /** Provider table name in config.toml (`model_provider`). */
  id: string;
  name: string;
  /** Responses-API base URL; codex appends `/responses`. */
  baseUrl: string;
  /** Given to the child in its environment only; never written to disk. */
  apiKey?: string | null;
  requestMaxRetries?: number;
  streamMaxRetries?: number;
  streamIdleTimeoutMs?: number;
}

/** Everything the transport needs, as plain values (no environment reading inside the library). */
export interface CodexTransportOptions {
  /** Explicit codex binary; default: the native binary of the installed `@openai/codex`. */
  binaryPath?: string | null;
  /** Tenant state lives in `<baseDataDir>/users/<tenant>/` (that directory is the tenant's CODEX_HOME). */
  baseDataDir: string;
  /**
   * Default working directory for threads and the processes; with {@link tenantWorkspaces}, the parent of
   * the tenants' own workspaces.
   */
  workspace: string;
  /** Each tenant works in `<workspace>/<tenant dir>` of its own (a gateway with several tenants). */
  tenantWorkspaces?: boolean;
  /**
   * Runs each tenant's codex in namespaces of its own that hide everything of other tenants and of the
   * gateway (see {@link TenantIsolation}); null or absent: codex sees what the gateway's user sees.
   */
  isolation?: TenantIsolation | null;
  clientName: string;
  clientVersion: string;
  model: string;
  reasoningEffort?: string | null;
  provider: ProviderOptions;
  sandbox: SandboxMode;
  approvalPolicy: ApprovalPolicy;
  addDirs?: string[];
  enableSearch?: boolean;
  /** codex's per-thread shell snapshot (`features.shell_snapshot`); off by default. */
  shellSnapshot?: boolean;
  /** The models to describe to codex in a catalog of their own (see `CodexHomeConfig.modelCatalog`). */
  modelCatalog?: ModelCatalogEntry[] | null;
  /** Base environment of every codex child (the caller filters what it passes). */
  env: NodeJS.ProcessEnv;
  approvalTimeoutMs: number;
  /** A client tool call nobody answers within this long is answered `success: false` and the turn goes on. */
  toolCallTimeoutMs?: number;
  turnTimeoutMs: number;
  maxSessions: number;
  maxRunningTurnsPerTenant: number;
  idleTimeoutMs: number;
  cleanupIntervalMs: number;
  interruptGraceMs?: number;
  requestTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  stopStageMs?: number;
  logger?: TransportLogger;
  /** Sees every JSON-RPC message the transport writes (used to check them against codex's schema). */
  onOutgoing?: (message: OutgoingMessage) => void;
  /**
   * codex keeps reconnecting to a model provider it cannot reach ("waiting for network") for as long as
   * the turn lasts; after this long without progress the turn fails with PROVIDER_ERROR instead.
   */
  providerUnreachableMs?: number;
  /**
   * After a tenant's codex fails to start, requests fail at once with its reason for this long before
   * another start is tried; the wait doubles with each failure, up to 30 s (or this, when longer).
   */
  startRetryMs?: number;
  /** Sees every JSON-RPC result the transport receives, with its method. */
  onIncomingResult?: (method: string, result: unknown) => void;
  /** A tenant's threads started ahead (see `takeThread`) are unloaded when none was taken for this long. */
  spareIdleMs?: number;
  /**
   * How many codex processes may be starting (spawn and `initialize`) at once; other tenants' starts wait
   * their turn. Default: the machine's CPUs, at least two.
   */
  maxConcurrentStarts?: number;
}

export const TRANSPORT_DEFAULTS = {
  interruptGraceMs: 5000,
  requestTimeoutMs: 30_000,
  handshakeTimeoutMs: 20_000,
  stopStageMs: 2000,
  requestMaxRetries: 1,
  streamMaxRetries: 1,
  streamIdleTimeoutMs: 120_000,
  providerUnreachableMs: 15_000,
  startRetryMs: 1000,
  toolCallTimeoutMs: 300_000,
  spareIdleMs: 60_000,
} as const;

type Timing =
  | 'interruptGraceMs'
  | 'requestTimeoutMs'
  | 'handshakeTimeoutMs'
  | 'stopStageMs'
  | 'providerUnreachableMs'
  | 'startRetryMs'
  | 'toolCallTimeoutMs'
  | 'spareIdleMs'
  | 'maxConcurrentStarts';

/** The options with every timing (and the start limit) set: what a transport works with. */
export type ResolvedTransportOptions = CodexTransportOptions & Required<Pick<CodexTransportOptions, Timing>>;

/** Fills in the timings left unset, once, when a transport is built. */
export function resolveTransportOptions(options: CodexTransportOptions): ResolvedTransportOptions {
  const d = TRANSPORT_DEFAULTS;
  return {
    ...options,
    interruptGraceMs: options.interruptGraceMs ?? d.interruptGraceMs,
    requestTimeoutMs: options.requestTimeoutMs ?? d.requestTimeoutMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? d.handshakeTimeoutMs,
    stopStageMs: options.stopStageMs ?? d.stopStageMs,
    providerUnreachableMs: options.providerUnreachableMs ?? d.providerUnreachableMs,
    startRetryMs: options.startRetryMs ?? d.startRetryMs,
    toolCallTimeoutMs: options.toolCallTimeoutMs ?? d.toolCallTimeoutMs,
    spareIdleMs: options.spareIdleMs ?? d.spareIdleMs,
    maxConcurrentStarts: options.maxConcurrentStarts ?? Math.max(2, availableParallelism()),
  };
}
