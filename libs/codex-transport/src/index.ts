/** Normalized event types every protocol maps from. */
export * from './events';
/** Coded errors thrown by the transport. */
export { CodexErrorCode, CodexTransportError, isCodexTransportError } from './errors/codex-transport.error';
/** Transport options (plain values) and their defaults. */
export { type CodexTransportOptions, type ProviderOptions, TRANSPORT_DEFAULTS } from './options';
/** Request and result shapes of thread, turn and skill operations. */
export * from './types';
/** The app-server backend: per-tenant process pool, turns as cold Observables, approvals. */
export { AppServerTransport, type ProcessInfo, type TransportStats } from './app-server/app-server.transport';
/** The exec backend: one `codex exec --json` per turn. */
export { ExecTransport, type ExecTurnParams } from './exec/exec.transport';
/** The shape of codex's thread ids. */
export { isThreadId } from './app-server/app-server-wire';
/** Registry of approvals codex waits on. */
export { ApprovalsRegistry } from './app-server/approvals.registry';
/** Newline-delimited JSON-RPC over streams, and its message tap type. */
export { JsonRpcConnection, type OutgoingMessage, type JsonRpcId } from './app-server/json-rpc-connection';
/** Splits a byte stream into bounded lines. */
export { LineFramer } from './app-server/line-framer';
/** Locating the codex binary. */
export { resolveCodexBinary, findPackagedBinary, type ResolvedBinary } from './binary';
/** CODEX_HOME config writing and tenant directory naming. */
export {
  APPROVAL_POLICIES,
  SANDBOX_MODES,
  PROVIDER_KEY_ENV,
  type ApprovalPolicy,
  CATALOG_REQUIRED_FIELDS,
  type ModelCatalogEntry,
  type SandboxMode,
  modelCatalogEntry,
  renderCodexConfig,
  tenantDirName,
  writeCodexHome,
} from './codex-home/codex-home.writer';
/** Keeping each tenant's codex in namespaces of its own. */
export { type TenantIsolation, type TenantView, allOnPath, findBubblewrap, isolationUnavailable } from './isolation';
/** The system's CA bundle, which codex trusts without SSL_CERT_FILE. */
export { namesSystemCaBundle, systemCaLocations } from './ca-bundle';
/** A tenant's CODEX_HOME and workspace. */
export { TENANT_NAME_FILE, tenantHome, tenantWorkspace } from './tenant-home';
/** Logger interface the transport writes to. */
export { type TransportLogger, silentLogger } from './logger';
/** Nest module providing both transports from options. */
export { CodexTransportModule } from './codex-transport.module';
export { CODEX_TRANSPORT_OPTIONS } from './codex-transport.module-definition';
