/**
 * Why this file is long: one tenant's codex process has one piece of state — the process and its generation,
 * the threads it has loaded, the running turn of each thread, its approvals — and every method here reads or
 * changes it in the same event loop turn as codex's notifications arrive. Split across classes, each would
 * need the others' internals (a crash ends the runs, a resume loads a thread, a notification finds its run).
 * What does not touch that state lives beside it: the process (app-server-process), the wire shapes
 * (app-server-wire), one turn's events (turn-run), approval fields (approvals.registry).
 */
import { randomUUID } from 'node:crypto';
import { Observable } from 'rxjs';
import type { ApprovalPolicy } from '../codex-home/codex-home.writer';
import type { ApprovalKind, CodexEvent } from '../events';
import { CodexErrorCode, CodexTransportError, isCodexTransportError } from '../errors/codex-transport.error';
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
import { AppServerProcess, type AppServerProcessOptions, type ProcessExit } from './app-server-process';
import { type ApprovalsRegistry, approvalFields } from './approvals.registry';
import type { JsonRpcId, OutgoingMessage } from './json-rpc-connection';
import {
  asTransportError,
  assertThreadId,
  compact,
  normalizeSession,
  normalizeThread,
  sandboxPolicy,
  toCodexInput,
} from './app-server-wire';
import { strOrNull } from './item.mapper';
import { SpareThreads } from './spare-threads';
import { StartGate } from './start-gate';
import { TurnRun } from './turn-run';
import { PROVIDER_UNREACHABLE, providerUnreachableMessage } from '../provider-unreachable';

/** The process options the session passes on as they are (the rest it sets itself). */
type ProcessPassThrough = Omit<AppServerProcessOptions, 'optOutNotifications' | 'handlers'>;

export interface AppServerSessionOptions extends ProcessPassThrough {
  tenant: string;
  turnTimeoutMs: number;
  /** After an interrupt, how long codex gets to end the turn before its process is recycled. */
  interruptGraceMs: number;
  /** A turn whose provider stays unreachable this long fails (see CodexTransportOptions). */
  providerUnreachableMs: number;
  /** First wait after a failed start (see CodexTransportOptions.startRetryMs). */
  startRetryMs: number;
  /** How long a client tool call may wait for its result. */
  toolCallTimeoutMs: number;
  /** Spare threads are unloaded when none was taken for this long. */
  spareIdleMs: number;
  maxRunningTurns: number;
  /**
   * Sent with every thread/start, thread/resume and thread/fork that does not choose its own: the
   * approval policy when config.toml cannot hold it (codex refuses `untrusted` there).
   */
  threadApprovalPolicy?: ApprovalPolicy | null;
  approvals: ApprovalsRegistry;
  /** Runs before every spawn (writes CODEX_HOME/config.toml). */
  prepare: () => void;
  /** Shared by a transport's sessions: how many of their codex processes may start at once. */
  startGate?: StartGate;
  onOutgoing?: (message: OutgoingMessage) => void;
  onIncomingResult?: (method: string, result: unknown) => void;
  onProcessExit?: (tenant: string, exit: ProcessExit) => void;
}

const APPROVAL_METHODS: Record<string, ApprovalKind> = {
  'item/commandExecution/requestApproval': 'command',
  'item/fileChange/requestApproval': 'fileChange',
};

/**
 * Notifications the gateway never uses; codex is asked not to send them (the thread ones are four of the
 * ~35 lines codex writes for a short turn, each parsed for nothing).
 */
const OPT_OUT = [
  'account/rateLimits/updated',
  'remoteControl/status/changed',
  'thread/started',
  'thread/status/changed',
  'thread/readState/changed',
];

/** Whether a notification shows that a turn's model is answering (see {@link AppServerSession.afterTurnStarts}). */
function answering(method: string, params: Record<string, unknown>): boolean {
  if (method === 'item/started') return (params.item as { type?: unknown } | undefined)?.type !== 'userMessage';
  return method.endsWith('/delta') || method.endsWith('Delta');
}

/** How long a taken spare waits for a turn before its pool is topped up anyway. */
const TOP_UP_FALLBACK_MS = 1000;

/** Notifications that show a turn is moving (the provider answers). */
const PROGRESS = new Set([
  'item/agentMessage/delta',
  'item/reasoning/summaryTextDelta',
  'item/started',
  'item/completed',
  'turn/completed',
]);

/**
 * One tenant's `codex app-server`: spawns it on demand (and again after a crash), resumes threads that a
 * previous process held before they are used, routes notifications to running turns and approval
 * requests to the registry, and enforces one running turn per thread.
 */
export class AppServerSession {
  private process: AppServerProcess | null = null;
  private starting: Promise<AppServerProcess> | null = null;
  /** The last failed start, and when another may be tried (the wait doubles with each failure). */
  private startFailure: { error: CodexTransportError; retryAt: number; waitMs: number } | null = null;
  private generation = 0;
  private readonly uid = randomUUID().slice(0, 8);
  /**
   * Threads loaded in the current process, with the model and effort each runs with: codex keeps a
   * turn's override for the turns after it, so a turn asking for what its thread already has sends none
   * (an override costs codex a few ms before the turn's first delta).
   */
  private loaded = new Map<string, ThreadSettings>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly runs = new Map<string, TurnRun>();
  private closed = false;
  private openStreams = 0;
  /** Threads started ahead with the default settings (stored, and ephemeral), for requests that start one. */
  private readonly spares = new Map<boolean, SpareThreads>();
  /** Taken spares whose first turn is not under way yet, with what to do once it is. */
  private readonly turnStartWaiters = new Map<string, () => void>();
  lastActivity = Date.now();

  constructor(private readonly options: AppServerSessionOptions) {}

  get tenant(): string {
    return this.options.tenant;
  }

  get pid(): number | undefined {
    return this.process?.isAlive ? this.process.pid : undefined;
  }

  get recentStderr(): string[] {
    return this.process?.recentStderr ?? [];
  }

  get runningTurns(): number {
    return this.runs.size;
  }

  /** True when nothing depends on the process: no turn, approval or open stream. */
  get isIdle(): boolean {
    return this.runs.size === 0 && this.openStreams === 0 && this.options.approvals.count(this.tenant) === 0;
  }

  /** Marks a long-lived client stream open; the returned function closes it. */
  holdStream(): () => void {
    this.openStreams++;
    this.touch();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.openStreams--;
      this.touch();
    };
  }

  async startThread(params: StartThreadParams): Promise<ThreadSession> {
    // codex's DynamicToolSpec is a tagged union (functions, namespaces): each tool says it is a function.
    const dynamicTools = params.dynamicTools?.map((tool) => ({ type: 'function' as const, ...tool }));
    const result = await this.request<ThreadSession>('thread/start', this.threadParams({ ...params, dynamicTools }));
    this.markLoaded(result);
    return normalizeSession(result);
  }

  /**
   * A new thread with the default settings `params` (ephemeral or not): one started ahead when there is
   * one, else a new one (see {@link SpareThreads}).
   */
  takeThread(params: StartThreadParams): Promise<ThreadSession> {
    const ephemeral = Boolean(params.ephemeral);
    let pool = this.spares.get(ephemeral);
    if (!pool) {
      const session = this as AppServerSession;
      pool = new SpareThreads(
        {
          get generation() {
            return session.generation;
          },
          get closed() {
            return session.closed;
          },
          start: () => this.startThread(params),
          isLoaded: (threadId) => this.loaded.has(threadId),
          release: (threadId) => this.releaseThread(threadId),
          afterTurnStarts: (threadId, then) => this.afterTurnStarts(threadId, then),
        },
        this.options.spareIdleMs,
      );
      this.spares.set(ephemeral, pool);
    }
    return pool.take();
  }

  /**
   * Calls `then` once the thread's turn is under way: its model answers (a delta, a tool call), or the turn
   * ends or fails to start; else {@link TOP_UP_FALLBACK_MS} after now.
   */
  private afterTurnStarts(threadId: string, then: () => void): void {
    const fire = () => {
      clearTimeout(fallback);
      if (this.turnStartWaiters.get(threadId) === fire) this.turnStartWaiters.delete(threadId);
      then();
    };
    const fallback = setTimeout(fire, TOP_UP_FALLBACK_MS);
    fallback.unref();
    this.turnStartWaiters.get(threadId)?.();
    this.turnStartWaiters.set(threadId, fire);
  }

  /** The id of the next spare thread (not ephemeral) once it has started (null when there is none). */
  async spareThreadId(): Promise<string | null> {
    return (await this.spares.get(false)?.nextId()) ?? null;
  }

  /** How many threads are kept started ahead (both kinds). */
  get spareCount(): number {
    let n = 0;
    for (const pool of this.spares.values()) n += pool.count;
    return n;
  }

  async resumeThread(params: ResumeThreadParams): Promise<ThreadSession> {
    assertThreadId(params.threadId);
    const result = await this.request<ThreadSession>('thread/resume', this.threadParams({ ...params }));
    this.markLoaded(result);
    return normalizeSession(result);
  }

  async readThread(threadId: string, includeTurns: boolean): Promise<CodexThread> {
    assertThreadId(threadId);
    const result = await this.request<{ thread: CodexThread }>('thread/read', { threadId, includeTurns });
    return normalizeThread(result.thread);
  }

  async forkThread(params: ForkThreadParams): Promise<ThreadSession> {
    assertThreadId(params.threadId);
    // codex 0.169 refuses an ephemeral fork of a paginated thread unless the turns are left out of the answer.
    const excludeTurns = params.excludeTurns ?? (params.ephemeral === true ? true : undefined);
    const result = await this.request<ThreadSession>('thread/fork', this.threadParams({ ...params, excludeTurns }));
    this.markLoaded(result);
    return normalizeSession(result);
  }

  /** The id of the thread's newest turn (null for a thread without turns); the thread need not be loaded. */
  async latestTurnId(threadId: string): Promise<string | null> {
    assertThreadId(threadId);
    const result = await this.request<{ data: Array<{ id: string }> }>('thread/turns/list', {
      threadId,
      limit: 1,
      sortDirection: 'desc',
      itemsView: 'notLoaded',
    });
    return result.data[0]?.id ?? null;
  }

  async listThreads(params: ListThreadsParams): Promise<ThreadList> {
    const body: Record<string, unknown> = compact({ limit: params.limit, cursor: params.cursor });
    if (params.includeExec) body.sourceKinds = ['vscode', 'exec', 'appServer', 'cli'];
    const result = await this.request<ThreadList>('thread/list', body);
    return { data: result.data.map(normalizeThread), nextCursor: result.nextCursor ?? null };
  }

  listSkills(params: SkillsListParams): Promise<{ data: unknown[] }> {
    return this.request('skills/list', compact({ ...params }));
  }

  writeSkillConfig(params: SkillConfigWriteParams): Promise<{ effectiveEnabled: boolean }> {
    return this.request('skills/config/write', compact({ ...params }));
  }

  /**
   * Unloads a thread from the process once its turn (if any) has ended: for per-request threads that
   * nobody will continue, so they do not pile up in codex's memory.
   */
  async releaseThread(threadId: string): Promise<void> {
    await this.runs.get(threadId)?.done;
    // A turn that started meanwhile keeps the thread.
    if (this.runs.has(threadId) || !this.loaded.has(threadId) || !this.process?.isAlive) return;
    this.loaded.delete(threadId);
    await this.process.connection.request('thread/unsubscribe', { threadId }).catch(() => undefined);
  }

  /** Interrupts the thread's running turn; resolves once codex has accepted the interrupt. */
  async interruptTurn(threadId: string, turnId: string): Promise<void> {
    const run = this.runs.get(threadId);
    if (!run || (run.turnId !== null && run.turnId !== turnId)) {
      throw new CodexTransportError(CodexErrorCode.TURN_NOT_FOUND, `turn ${turnId} is not running`);
    }
    if (run.turnId === null) await settledWithin(run.started, 5000);
    if (run.state === 'done') return;
    await this.request('turn/interrupt', { threadId, turnId });
  }

  /**
   * Runs a turn. Cold: nothing happens until subscription; unsubscribing interrupts the turn in codex
   * (and recycles the process if codex does not confirm within the grace period).
   */
  runTurn(params: RunTurnParams): Observable<CodexEvent> {
    return new Observable<CodexEvent>((subscriber) => {
      // A run that has just finished (its subscriber may be starting the next turn from its completion)
      // no longer holds the thread.
      const found = this.runs.get(params.threadId);
      const existing = found?.state === 'done' ? undefined : found;
      // A turn that is winding down may be followed by exactly one new turn; anything else is busy.
      if (existing && (existing.state !== 'ending' || existing.successorClaimed)) {
        subscriber.error(
          new CodexTransportError(CodexErrorCode.THREAD_BUSY, `thread ${params.threadId} already runs a turn`),
        );
        return;
      }
      if (!existing && this.liveRuns() >= this.options.maxRunningTurns) {
        subscriber.error(
          new CodexTransportError(
            CodexErrorCode.TOO_MANY_TURNS,
            `at most ${this.options.maxRunningTurns} turns may run at once`,
          ),
        );
        return;
      }
      const run = new TurnRun(params.threadId, subscriber);
      if (existing) existing.successorClaimed = true;
      void this.startRun(run, params, existing);
      return () => {
        if (run.state !== 'done') this.abandon(run, null);
      };
    });
  }

  private liveRuns(): number {
    let n = 0;
    for (const run of this.runs.values()) if (run.state !== 'done') n++;
    return n;
  }

  /** Stops the process (staged) and ends everything running on it; the session takes no more work. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pool of this.spares.values()) pool.clear();
    const process = this.process ?? (await this.starting?.catch(() => null)) ?? null;
    await process?.stop();
  }

  private async startRun(run: TurnRun, params: RunTurnParams, previous: TurnRun | undefined): Promise<void> {
    if (previous) {
      // The previous turn was abandoned and is winding down; it frees the thread within the grace period.
      await previous.done;
    }
    if (run.state === 'done') return;
    this.runs.set(params.threadId, run);
    this.touch();
    const timeout = setTimeout(() => {
      this.abandon(run, {
        code: CodexErrorCode.TURN_TIMEOUT,
        message: `the turn ran longer than ${Math.round(this.options.turnTimeoutMs / 1000)} s and was stopped`,
      });
    }, this.options.turnTimeoutMs);
    timeout.unref();
    run.timers.push(timeout);
    try {
      // With the process up and the thread loaded, turn/start is written within the subscribe call: nothing
      // the caller does next (its response headers, its records) reaches the event loop ahead of it.
      if (this.closed || !this.process?.isAlive || !this.loaded.has(params.threadId))
        await this.ensureLoaded(params.threadId);
      const process = this.process!;
      const current = this.loaded.get(params.threadId);
      const model = params.model !== undefined && params.model !== current?.model ? params.model : undefined;
      const effort = params.effort !== undefined && params.effort !== current?.effort ? params.effort : undefined;
      const items = [...(params.history ?? [])];
      if (params.developerMessage) {
        items.push({
          type: 'message',
          role: 'developer',
          content: [{ type: 'input_text', text: params.developerMessage }],
        });
      }
      if (items.length > 0)
        await process.connection.request('thread/inject_items', { threadId: params.threadId, items });
      const result = await process.connection.request<{ turn: { id: string } }>(
        'turn/start',
        compact({
          threadId: params.threadId,
          input: params.input.map(toCodexInput),
          model,
          effort,
          cwd: params.cwd,
          approvalPolicy: params.approvalPolicy,
          sandboxPolicy: params.sandbox ? sandboxPolicy(params.sandbox, params.cwd) : undefined,
          outputSchema: params.outputSchema,
        }),
      );
      run.setTurnId(result.turn.id);
      if (current && model !== undefined) current.model = model;
      if (current && effort !== undefined) current.effort = effort;
      if (run.detached) this.sendInterrupt(run);
    } catch (error) {
      if (this.runs.get(params.threadId) === run) this.runs.delete(params.threadId);
      this.turnStartWaiters.get(params.threadId)?.();
      run.fail(asTransportError(error));
    }
  }

  /**
   * The subscriber is gone, or the turn timed out: end the stream now (with `error` as a failed turn if
   * given), interrupt the turn in codex, and recycle the process if codex does not confirm in time.
   */
  private abandon(run: TurnRun, error: { code: string; message: string } | null): void {
    if (run.state === 'done' || (run.detached && error === null)) return;
    if (error) {
      run.emit({ type: 'error', threadId: run.threadId, turnId: run.turnId, message: error.message, willRetry: false });
      run.emit({ type: 'turn.completed', threadId: run.threadId, turnId: run.turnId ?? '', status: 'failed', error });
    }
    run.detach(error !== null);
    this.sendInterrupt(run);
  }

  private sendInterrupt(run: TurnRun): void {
    if (run.state === 'done' || run.turnId === null) return; // startRun interrupts once the id is known
    const process = this.process;
    if (!process) return;
    process.connection.request('turn/interrupt', { threadId: run.threadId, turnId: run.turnId }).catch(() => {
      // "no active turn": it ended on its own meanwhile; turn/completed settles the run
    });
    const grace = setTimeout(() => {
      if (run.state === 'done') return;
      this.options.logger.warn(
        `turn ${run.turnId} did not end ${this.options.interruptGraceMs} ms after interrupt; recycling the codex process`,
        'AppServerSession',
      );
      void process.stop();
    }, this.options.interruptGraceMs);
    grace.unref();
    run.timers.push(grace);
  }

  private async ensureLoaded(threadId: string): Promise<void> {
    assertThreadId(threadId);
    await this.ensureProcess();
    if (this.loaded.has(threadId)) return;
    let loading = this.loading.get(threadId);
    if (!loading) {
      loading = this.request<ThreadSession>('thread/resume', this.threadParams<ResumeThreadParams>({ threadId }))
        .then((result) => {
          this.markLoaded(result);
        })
        .finally(() => this.loading.delete(threadId));
      this.loading.set(threadId, loading);
    }
    await loading;
  }

  private async request<T>(method: string, params: unknown): Promise<T> {
    const process = await this.ensureProcess();
    this.touch();
    return process.connection.request<T>(method, params);
  }

  /** Starts the process if it is not running (with the back-off of failed starts); resolves to its pid. */
  async start(): Promise<number | undefined> {
    return (await this.ensureProcess()).pid;
  }

  private async ensureProcess(): Promise<AppServerProcess> {
    if (this.closed) throw new CodexTransportError(CodexErrorCode.SHUTTING_DOWN, 'the gateway is shutting down');
    if (this.process?.isAlive) return this.process;
    if (!this.starting) {
      const failed = this.startFailure;
      // A codex that refused to start is not started again at every request: callers get its reason
      // until the back-off has passed.
      if (failed && Date.now() < failed.retryAt) throw withRetryAfter(failed.error, failed.retryAt - Date.now());
      this.starting = this.spawn().then(
        (process) => {
          this.startFailure = null;
          return process;
        },
        (error: unknown) => {
          const failure = isCodexTransportError(error, CodexErrorCode.START_FAILED)
            ? error
            : new CodexTransportError(
                CodexErrorCode.START_FAILED,
                `codex could not be started: ${(error as Error)?.message ?? String(error)}`,
                {
                  reason: (error as Error)?.message ?? String(error),
                },
              );
          if (this.closed || isCodexTransportError(error, CodexErrorCode.SHUTTING_DOWN)) throw error;
          const first = this.options.startRetryMs;
          const waitMs = failed ? Math.min(failed.waitMs * 2, Math.max(first, START_RETRY_MAX_MS)) : first;
          this.startFailure = { error: failure, retryAt: Date.now() + waitMs, waitMs };
          this.options.logger.error(
            `codex app-server for tenant ${this.tenant} failed to start (next try in ${waitMs / 1000} s): ${failure.message}`,
            'AppServerSession',
          );
          throw withRetryAfter(failure, waitMs);
        },
      );
      this.starting.catch(() => undefined).finally(() => (this.starting = null));
    }
    return this.starting;
  }

  private spawn(): Promise<AppServerProcess> {
    return this.options.startGate ? this.options.startGate.run(() => this.spawnNow()) : this.spawnNow();
  }

  private async spawnNow(): Promise<AppServerProcess> {
    if (this.closed) throw new CodexTransportError(CodexErrorCode.SHUTTING_DOWN, 'the gateway is shutting down');
    this.options.prepare();
    const generation = ++this.generation;
    const { binary, args, launch, env, cwd, clientName, clientVersion } = this.options;
    const { handshakeTimeoutMs, requestTimeoutMs, stopStageMs, logger } = this.options;
    const process = new AppServerProcess({
      ...{ binary, args, launch, env, cwd, clientName, clientVersion },
      ...{ handshakeTimeoutMs, requestTimeoutMs, stopStageMs, logger },
      optOutNotifications: OPT_OUT,
      handlers: {
        onNotification: (method, params) => this.onNotification(generation, method, params),
        onRequest: (id, method, params) => this.onServerRequest(process, generation, id, method, params),
        onOutgoing: this.options.onOutgoing,
        onIncomingResult: this.options.onIncomingResult,
      },
    });
    process.once('exit', (exit: ProcessExit) => this.onExit(process, generation, exit));
    await process.initialize();
    if (this.closed) {
      await process.stop();
      throw new CodexTransportError(CodexErrorCode.SHUTTING_DOWN, 'the gateway is shutting down');
    }
    this.loaded = new Map();
    this.process = process;
    this.options.logger.log(
      `codex app-server started for tenant ${this.tenant} (pid ${process.pid})`,
      'AppServerSession',
    );
    return process;
  }

  private onExit(process: AppServerProcess, generation: number, exit: ProcessExit): void {
    if (this.process === process) {
      this.process = null;
      this.loaded = new Map();
    }
    this.options.approvals.dropProcess(`${this.uid}:${generation}:`);
    const message = exit.expected
      ? 'the codex process was stopped before the turn ended'
      : `codex app-server exited unexpectedly (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}) and the turn was lost; the next request starts a new process`;
    for (const [threadId, run] of this.runs) {
      this.runs.delete(threadId);
      run.emit({ type: 'error', threadId, turnId: run.turnId, message, willRetry: false });
      run.finish('failed', { code: CodexErrorCode.PROCESS_EXITED, message });
    }
    if (!exit.expected) {
      this.options.logger.error(
        `codex app-server for tenant ${this.tenant} exited unexpectedly (code ${exit.code}, signal ${exit.signal}); stderr: ${process.recentStderr.slice(-3).join(' | ')}`,
        'AppServerSession',
      );
    }
    this.options.onProcessExit?.(this.tenant, exit);
  }

  private onNotification(generation: number, method: string, params: Record<string, unknown>): void {
    if (generation !== this.generation) return;
    if (method === 'serverRequest/resolved') {
      this.options.approvals.resolvedByCodex(`${this.uid}:${generation}:${String(params.requestId)}`);
      return;
    }
    if (method === 'configWarning') {
      this.options.logger.warn(`codex config warning: ${strOrNull(params.summary) ?? ''}`, 'AppServerSession');
      return;
    }
    const threadId = typeof params.threadId === 'string' ? params.threadId : null;
    if (!threadId) return;
    const run = this.runs.get(threadId);
    if (!run) return;
    const turnId = typeof params.turnId === 'string' ? params.turnId : null;
    if (turnId && run.turnId && turnId !== run.turnId) return;
    run.handleNotification(method, params);
    this.watchProvider(run, method, params);
    if (this.turnStartWaiters.size > 0 && (run.state === 'done' || answering(method, params)))
      this.turnStartWaiters.get(threadId)?.();
    if (run.state === 'done') {
      if (this.runs.get(threadId) === run) this.runs.delete(threadId);
      this.options.approvals.endTurn(threadId, run.turnId);
      this.touch();
    }
  }

  /**
   * codex retries an unreachable provider without end ("Reconnecting... waiting for network"): the first
   * such retry arms a timer, any progress of the turn disarms it, and if it fires the turn fails with
   * PROVIDER_ERROR (and is interrupted) instead of hanging until the turn timeout.
   */
  private watchProvider(run: TurnRun, method: string, params: Record<string, unknown>): void {
    if (run.state !== 'running') return;
    if (method === 'error' && params.willRetry === true) {
      const message = strOrNull((params.error as { message?: unknown } | undefined)?.message) ?? '';
      if (!PROVIDER_UNREACHABLE.test(message) || run.providerWatch) return;
      run.providerWatch = setTimeout(() => {
        this.abandon(run, {
          code: CodexErrorCode.PROVIDER_ERROR,
          message: providerUnreachableMessage(this.options.providerUnreachableMs, message),
        });
      }, this.options.providerUnreachableMs);
      run.providerWatch.unref();
      run.timers.push(run.providerWatch);
    } else if (run.providerWatch && PROGRESS.has(method)) {
      clearTimeout(run.providerWatch);
      run.providerWatch = null;
    }
  }

  private onServerRequest(
    process: AppServerProcess,
    generation: number,
    id: JsonRpcId,
    method: string,
    params: Record<string, unknown>,
  ): void {
    const threadId = typeof params.threadId === 'string' ? params.threadId : '';
    const run = this.runs.get(threadId);
    if (run) this.turnStartWaiters.get(threadId)?.(); // the model asks for a call or an approval: it answers
    if (method === 'item/tool/call' && run) return this.onToolCall(process, id, run, params);
    const kind = APPROVAL_METHODS[method];
    if (!kind || !run) {
      // Answer so codex does not wait forever; tell the turn (if any) what was refused.
      process.connection.respondError(id, -32601, `codex-gateway does not handle ${method}`);
      run?.emit({ type: 'warning', threadId, message: `codex asked for ${method}, which this gateway declines` });
      return;
    }
    const fields = approvalFields(kind, params, run.turnId ?? '');
    const turnId = fields.turnId;
    const approval = this.options.approvals.add(
      {
        tenant: this.tenant,
        threadId,
        ...fields,
        answer: (decision) => {
          if (process.isAlive) process.connection.respond(id, { decision });
        },
        onResolved: (decision, reason) => {
          run.emit({ type: 'approval.resolved', threadId, turnId, approvalId: approval.id, decision, reason });
          this.touch();
        },
      },
      `${this.uid}:${generation}:${String(id)}`,
    );
    run.emit({ type: 'approval.requested', threadId, turnId, approval });
  }

  /**
   * codex calls one of the client's tools and waits: the run carries the call to its subscriber, and the
   * call waits for `answerToolCall` at most `toolCallTimeoutMs`, after which codex hears it failed.
   */
  private onToolCall(process: AppServerProcess, id: JsonRpcId, run: TurnRun, params: Record<string, unknown>): void {
    const callId = strOrNull(params.callId) ?? `call_${String(id)}`;
    const name = strOrNull(params.tool) ?? '';
    const turnId = run.turnId ?? strOrNull(params.turnId) ?? '';
    const seconds = Math.round(this.options.toolCallTimeoutMs / 1000);
    const timer = setTimeout(() => {
      if (!run.toolCalls.has(callId)) return;
      this.resolveToolCall(run, callId, {
        text: `The client did not return a result for ${name} within ${seconds} s; the call was not run.`,
        success: false,
      });
      run.emit({ type: 'tool.resolved', threadId: run.threadId, turnId, callId, reason: 'timeout' });
    }, this.options.toolCallTimeoutMs);
    timer.unref();
    run.timers.push(timer);
    run.toolCalls.set(callId, {
      respond: (result) => {
        if (process.isAlive) process.connection.respond(id, result);
      },
      timer,
    });
    const args = typeof params.arguments === 'string' ? params.arguments : JSON.stringify(params.arguments ?? {});
    run.emit({ type: 'tool.call', threadId: run.threadId, turnId, callId, name, arguments: args });
  }

  /**
   * Gives codex the client's result for a pending tool call of the thread's running turn; false when no such
   * call waits (unknown, already answered, timed out, or its turn is over).
   */
  answerToolCall(threadId: string, callId: string, result: ToolCallResult): boolean {
    const run = this.runs.get(threadId);
    if (!run?.toolCalls.has(callId)) return false;
    this.resolveToolCall(run, callId, result);
    run.emit({ type: 'tool.resolved', threadId, turnId: run.turnId ?? '', callId, reason: 'answered' });
    return true;
  }

  private resolveToolCall(run: TurnRun, callId: string, result: ToolCallResult): void {
    const call = run.toolCalls.get(callId);
    if (!call) return;
    run.toolCalls.delete(callId);
    clearTimeout(call.timer);
    call.respond({ contentItems: [{ type: 'inputText', text: result.text }], success: result.success });
    this.touch();
  }

  /** Params of thread/start, resume or fork, with the thread defaults codex cannot read from config.toml. */
  private threadParams<T extends { approvalPolicy?: ApprovalPolicy }>(params: T): T {
    const policy = this.options.threadApprovalPolicy;
    if (policy && params.approvalPolicy === undefined) params.approvalPolicy = policy;
    return compact(params);
  }

  /** The thread of a thread/start, resume or fork answer is loaded, with the model and effort codex reported. */
  private markLoaded(session: ThreadSession): void {
    this.loaded.set(session.thread.id, {
      model: typeof session.model === 'string' ? session.model : null,
      effort: session.reasoningEffort ?? null,
    });
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }
}

/** The wait after failed starts doubles up to this. */
const START_RETRY_MAX_MS = 30_000;

/** The start failure as callers get it: the same code and reason, with how long to wait. */
function withRetryAfter(error: CodexTransportError, waitMs: number): CodexTransportError {
  return new CodexTransportError(error.code, error.message, { ...error.details, retryAfterMs: waitMs });
}

/** What a loaded thread runs with, as codex last reported or was told. */
interface ThreadSettings {
  model: string | null;
  effort: string | null;
}

/** Waits for `promise`, at most `ms`. */
async function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
