/**
 * The app-server backend's front door. Slightly over 300 lines: it is a thin, per-tenant facade over the
 * sessions (one method per operation, each a line or two), plus the process pool and its reaper.
 */
import { join, resolve } from 'node:path';
import { Observable, defer } from 'rxjs';
import { type ResolvedBinary, resolveCodexBinary } from '../binary';
import { perThreadApprovalPolicy } from '../codex-home/codex-home.writer';
import type { ApprovalDecision, ApprovalRequest, CodexEvent } from '../events';
import { CodexErrorCode, CodexTransportError } from '../errors/codex-transport.error';
import { type TransportLogger, silentLogger } from '../logger';
import { type CodexTransportOptions, type ResolvedTransportOptions, resolveTransportOptions } from '../options';
import { StartGate } from './start-gate';
import { childEnvironment, codexLaunch, prepareTenantHome, tenantHome, tenantWorkspace } from '../tenant-home';
import type {
  CodexThread,
  ForkThreadParams,
  ListThreadsParams,
  ResumeThreadParams,
  RunTurnParams,
  SkillConfigWriteParams,
  SkillsListParams,
  StartThreadParams,
  ThreadList,
  ThreadSession,
  ToolCallResult,
} from '../types';
import { AppServerSession } from './app-server-session';
import { ApprovalsRegistry } from './approvals.registry';

/** A successful readiness probe process is trusted this long before another one is started. */
const HEALTH_PROBE_REUSE_MS = 10_000;

export interface ProcessInfo {
  tenant: string;
  pid: number | undefined;
  runningTurns: number;
  idleForMs: number;
}

export interface TransportStats {
  sessions: number;
  liveProcesses: number;
  runningTurns: number;
  pendingApprovals: number;
  processRestarts: number;
}

/**
 * The app-server backend: a pool of per-tenant `codex app-server` processes with idle reaping, a cap
 * on live processes, and the approvals registry they share. Every method takes the tenant; a thread
 * or approval id is only ever looked up inside that tenant's process and home.
 */
export class AppServerTransport {
  readonly approvals: ApprovalsRegistry;
  private readonly sessions = new Map<string, AppServerSession>();
  private readonly logger: TransportLogger;
  private binary: ResolvedBinary | null = null;
  private reaper: NodeJS.Timeout | null = null;
  private shuttingDown: Promise<void> | null = null;
  private probing: Promise<{ binary: string; pid?: number }> | null = null;
  private lastProbeOk: number | null = null;
  private readonly probesStopping = new Set<Promise<void>>();
  private unexpectedExits = 0;

  private readonly options: ResolvedTransportOptions;
  private readonly startGate: StartGate;

  constructor(options: CodexTransportOptions) {
    this.options = resolveTransportOptions(options);
    this.startGate = new StartGate(this.options.maxConcurrentStarts);
    this.logger = options.logger ?? silentLogger;
    this.approvals = new ApprovalsRegistry(options.approvalTimeoutMs);
    if (options.cleanupIntervalMs > 0) {
      this.reaper = setInterval(() => void this.reapIdle(), options.cleanupIntervalMs);
      this.reaper.unref();
    }
  }

  /** The binary in use (resolved once; throws BINARY_NOT_FOUND). */
  resolveBinary(): ResolvedBinary {
    this.binary ??= resolveCodexBinary(this.options.binaryPath);
    return this.binary;
  }

  async startThread(tenant: string, params: StartThreadParams = {}): Promise<ThreadSession> {
    return this.session(tenant).startThread(this.withDefaults(tenant, params));
  }

  /**
   * A new thread with the default settings (the workspace as cwd, the configured model, no developer
   * instructions; `ephemeral` when the conversation is not to be kept), for a request that starts a
   * conversation and gives its model and effort with the turn. Such threads are started ahead (as many as
   * the tenant's requests take at once, up to four of each kind; none once it has taken none for a
   * minute), so the request does not wait for one.
   */
  async takeThread(tenant: string, options: { ephemeral?: boolean } = {}): Promise<ThreadSession> {
    return this.session(tenant).takeThread(this.withDefaults(tenant, options.ephemeral ? { ephemeral: true } : {}));
  }

  /** The id of the tenant's next spare thread once started (see {@link takeThread}); null when there is none. */
  async spareThreadId(tenant: string): Promise<string | null> {
    return (await this.sessions.get(tenant)?.spareThreadId()) ?? null;
  }

  /** How many threads the tenant keeps started ahead (see {@link takeThread}). */
  spareThreads(tenant: string): number {
    return this.sessions.get(tenant)?.spareCount ?? 0;
  }

  async resumeThread(tenant: string, params: ResumeThreadParams): Promise<ThreadSession> {
    return this.session(tenant).resumeThread(params);
  }

  async readThread(tenant: string, threadId: string, includeTurns = false): Promise<CodexThread> {
    return this.session(tenant).readThread(threadId, includeTurns);
  }

  async forkThread(tenant: string, params: ForkThreadParams): Promise<ThreadSession> {
    return this.session(tenant).forkThread(params);
  }

  async latestTurnId(tenant: string, threadId: string): Promise<string | null> {
    return this.session(tenant).latestTurnId(threadId);
  }

  async listThreads(tenant: string, params: ListThreadsParams = {}): Promise<ThreadList> {
    return this.session(tenant).listThreads(params);
  }

  async listSkills(tenant: string, params: SkillsListParams = {}): Promise<{ data: unknown[] }> {
    return this.session(tenant).listSkills(params);
  }

  async writeSkillConfig(tenant: string, params: SkillConfigWriteParams): Promise<{ effectiveEnabled: boolean }> {
    return this.session(tenant).writeSkillConfig(params);
  }

  /** Cold stream of the turn's normalized events; unsubscribing interrupts the turn. */
  runTurn(tenant: string, params: RunTurnParams): Observable<CodexEvent> {
    return defer(() => this.session(tenant).runTurn(params));
  }

  /** Unloads a per-request thread after its turn (see {@link AppServerSession.releaseThread}). */
  async releaseThread(tenant: string, threadId: string): Promise<void> {
    await this.sessions.get(tenant)?.releaseThread(threadId);
  }

  interruptTurn(tenant: string, threadId: string, turnId: string): Promise<void> {
    const session = this.sessions.get(tenant);
    if (!session) {
      return Promise.reject(new CodexTransportError(CodexErrorCode.TURN_NOT_FOUND, `turn ${turnId} is not running`));
    }
    return session.interruptTurn(threadId, turnId);
  }

  /** Answers a client tool call the thread's running turn waits on (see AppServerSession.answerToolCall). */
  answerToolCall(tenant: string, threadId: string, callId: string, result: ToolCallResult): boolean {
    return this.sessions.get(tenant)?.answerToolCall(threadId, callId, result) ?? false;
  }

  listApprovals(tenant: string, threadId?: string): ApprovalRequest[] {
    return this.approvals.list(tenant, threadId);
  }

  respondToApproval(tenant: string, approvalId: string, decision: ApprovalDecision): ApprovalRequest {
    return this.approvals.respond(tenant, approvalId, decision);
  }

  /** Keeps the tenant's process from idle reaping while a long-lived client stream is open. */
  holdStream(tenant: string): () => void {
    return this.session(tenant).holdStream();
  }

  /** The tenant's CODEX_HOME. */
  homeOf(tenant: string): string {
    return tenantHome(this.options.baseDataDir, tenant);
  }

  processes(): ProcessInfo[] {
    const now = Date.now();
    return [...this.sessions.values()].map((s) => ({
      tenant: s.tenant,
      pid: s.pid,
      runningTurns: s.runningTurns,
      idleForMs: now - s.lastActivity,
    }));
  }

  /** The last lines codex wrote to stderr in the tenant's current process (ANSI stripped; diagnostics). */
  stderrOf(tenant: string): string[] {
    return this.sessions.get(tenant)?.recentStderr ?? [];
  }

  stats(): TransportStats {
    const sessions = [...this.sessions.values()];
    return {
      sessions: sessions.length,
      liveProcesses: sessions.filter((s) => s.pid !== undefined).length,
      runningTurns: sessions.reduce((n, s) => n + s.runningTurns, 0),
      pendingApprovals: this.approvals.count(),
      processRestarts: this.unexpectedExits,
    };
  }

  /**
   * Readiness: true when a codex process is up, else starts a throwaway one (own CODEX_HOME under the
   * data dir) and checks that it finishes the handshake.
   */
  async checkHealth(): Promise<{ binary: string; pid?: number }> {
    const binary = this.resolveBinary();
    const live = [...this.sessions.values()].find((s) => s.pid !== undefined);
    if (live) return { binary: binary.path, pid: live.pid };
    // A probe process proved codex starts a moment ago: do not start one for every probe.
    if (this.lastProbeOk !== null && Date.now() - this.lastProbeOk < HEALTH_PROBE_REUSE_MS)
      return { binary: binary.path };
    this.probing ??= this.probeProcess(binary).finally(() => (this.probing = null));
    return this.probing;
  }

  /**
   * Starts a throwaway codex exactly as a tenant's is started (same config writer, settings, environment
   * and handshake; its CODEX_HOME is `<data dir>/health`) and checks that it initializes.
   */
  private async probeProcess(binary: ResolvedBinary): Promise<{ binary: string; pid?: number }> {
    const home = this.healthHome();
    const probe = this.newSession(
      '(readiness probe)',
      home,
      this.options.tenantWorkspaces ? join(home, 'workspace') : resolve(this.options.workspace),
    );
    try {
      const pid = await probe.start();
      this.lastProbeOk = Date.now();
      return { binary: binary.path, pid };
    } finally {
      // The answer does not wait for the probe to exit; shutdown does.
      const stopping = probe.close().finally(() => this.probesStopping.delete(stopping));
      this.probesStopping.add(stopping);
    }
  }

  /**
   * The home a new tenant's databases are copied from now: the readiness probe's, once a probe has
   * started codex there and stopped it, while no other probe runs; null otherwise.
   */
  seedHome(): string | null {
    if (this.lastProbeOk === null || this.probing || this.probesStopping.size > 0) return null;
    return this.healthHome();
  }

  private healthHome(): string {
    return join(resolve(this.options.baseDataDir), 'health');
  }

  /** Stops processes that have been idle longer than the idle timeout. */
  async reapIdle(now = Date.now()): Promise<string[]> {
    const reaped: string[] = [];
    for (const [tenant, session] of this.sessions) {
      if (session.isIdle && now - session.lastActivity >= this.options.idleTimeoutMs) {
        this.sessions.delete(tenant);
        reaped.push(tenant);
        this.logger.log(`stopping idle codex process of tenant ${tenant}`, 'AppServerTransport');
        await session.close();
      }
    }
    return reaped;
  }

  /**
   * Makes room at once for a new tenant when the pool is full: the session idle the longest, if it has
   * been idle past the idle timeout, is stopped now instead of at the next sweep. False when none qualifies.
   */
  private evictIdle(now = Date.now()): boolean {
    let oldest: [string, AppServerSession] | null = null;
    for (const entry of this.sessions) {
      const [, session] = entry;
      if (!session.isIdle || now - session.lastActivity < this.options.idleTimeoutMs) continue;
      if (!oldest || session.lastActivity < oldest[1].lastActivity) oldest = entry;
    }
    if (!oldest) return false;
    const [tenant, session] = oldest;
    this.sessions.delete(tenant);
    this.logger.log(`stopping idle codex process of tenant ${tenant} to make room`, 'AppServerTransport');
    void session.close();
    return true;
  }

  /** Stops every process (staged) and refuses new work. Safe to call twice. */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      if (this.reaper) clearInterval(this.reaper);
      const sessions = [...this.sessions.values()];
      this.sessions.clear();
      await Promise.all([...sessions.map((s) => s.close()), ...this.probesStopping]);
    })();
    return this.shuttingDown;
  }

  private session(tenant: string): AppServerSession {
    if (this.shuttingDown) throw new CodexTransportError(CodexErrorCode.SHUTTING_DOWN, 'the gateway is shutting down');
    const existing = this.sessions.get(tenant);
    if (existing) return existing;
    if (this.sessions.size >= this.options.maxSessions && !this.evictIdle()) {
      throw new CodexTransportError(
        CodexErrorCode.POOL_FULL,
        `all ${this.options.maxSessions} codex sessions are in use; retry shortly`,
      );
    }
    const session = this.newSession(
      tenant,
      tenantHome(this.options.baseDataDir, tenant),
      tenantWorkspace(this.options, tenant),
    );
    this.sessions.set(tenant, session);
    return session;
  }

  /**
   * A session whose codex runs with CODEX_HOME `home` (written from the options before every start) in
   * `workspace`, inside the tenant's namespaces when the options ask for isolation.
   */
  private newSession(tenant: string, home: string, workspace: string): AppServerSession {
    const binary = this.resolveBinary();
    const o = this.options;
    return new AppServerSession({
      tenant,
      binary: binary.path,
      launch: (args) => codexLaunch(o, binary, { home, workspace }, workspace, args),
      env: childEnvironment(o, binary, home),
      cwd: workspace,
      clientName: o.clientName,
      clientVersion: o.clientVersion,
      turnTimeoutMs: o.turnTimeoutMs,
      ...{ interruptGraceMs: o.interruptGraceMs, providerUnreachableMs: o.providerUnreachableMs },
      ...{ requestTimeoutMs: o.requestTimeoutMs, handshakeTimeoutMs: o.handshakeTimeoutMs },
      ...{ stopStageMs: o.stopStageMs, startRetryMs: o.startRetryMs, toolCallTimeoutMs: o.toolCallTimeoutMs },
      spareIdleMs: o.spareIdleMs,
      maxRunningTurns: o.maxRunningTurnsPerTenant,
      threadApprovalPolicy: perThreadApprovalPolicy(o.approvalPolicy),
      approvals: this.approvals,
      logger: this.logger,
      startGate: this.startGate,
      prepare: () => prepareTenantHome(o, tenant, home, workspace, home === this.healthHome() ? null : this.seedHome()),
      onOutgoing: o.onOutgoing,
      onIncomingResult: o.onIncomingResult,
      onProcessExit: (_tenant, exit) => {
        if (!exit.expected) this.unexpectedExits++;
      },
    });
  }

  private withDefaults(tenant: string, params: StartThreadParams): StartThreadParams {
    return { cwd: tenantWorkspace(this.options, tenant), ...params };
  }
}
