import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Observable } from 'rxjs';
import { type ResolvedBinary, resolveCodexBinary } from '../binary';
import type { SandboxMode } from '../codex-home/codex-home.writer';
import type { CodexEvent } from '../events';
import { CodexErrorCode, CodexTransportError } from '../errors/codex-transport.error';
import { LineFramer } from '../app-server/line-framer';
import { type TransportLogger, silentLogger } from '../logger';
import { type CodexTransportOptions, type ResolvedTransportOptions, resolveTransportOptions } from '../options';
import { childEnvironment, codexLaunch, prepareTenantHome, tenantHome, tenantWorkspace } from '../tenant-home';
import { PROVIDER_UNREACHABLE, providerUnreachableMessage } from '../provider-unreachable';
import { signalGroup } from '../process-group';
import { ExecEventMapper } from './exec-event.mapper';

export interface ExecTurnParams {
  prompt: string;
  /** Continue this thread (`codex exec resume <id>`); omitted: a new thread. */
  threadId?: string;
  model?: string;
  effort?: string;
  cwd?: string;
  sandbox?: SandboxMode;
  /** Local image files attached to the prompt. */
  images?: string[];
  /** No rollout is written (the thread cannot be continued). */
  ephemeral?: boolean;
  /** Extra instructions for the model (a developer message). */
  developerInstructions?: string;
  /** The final answer must be JSON matching this schema (`--output-schema`; codex applies it in strict mode). */
  outputSchema?: Record<string, unknown>;
}

/** Events that show a turn is moving (the provider answers). */
const PROGRESS = new Set<CodexEvent['type']>(['item.delta', 'item.started', 'item.completed']);

/**
 * The exec backend: one `codex exec --json` process per turn (stdin carries the prompt and is then
 * closed), its JSONL mapped to the normalized events. Unsubscribing kills the process group.
 */
export class ExecTransport {
  private binary: ResolvedBinary | null = null;
  private readonly logger: TransportLogger;
  private readonly running = new Set<() => void>();
  private readonly perTenant = new Map<string, number>();

  private readonly options: ResolvedTransportOptions;

  constructor(options: CodexTransportOptions) {
    this.options = resolveTransportOptions(options);
    this.logger = options.logger ?? silentLogger;
  }

  get runningTurns(): number {
    return this.running.size;
  }

  runTurn(tenant: string, params: ExecTurnParams): Observable<CodexEvent> {
    return new Observable<CodexEvent>((subscriber) => {
      const running = this.perTenant.get(tenant) ?? 0;
      if (running >= this.options.maxRunningTurnsPerTenant) {
        subscriber.error(
          new CodexTransportError(
            CodexErrorCode.TOO_MANY_TURNS,
            `at most ${this.options.maxRunningTurnsPerTenant} turns may run at once`,
          ),
        );
        return;
      }
      this.perTenant.set(tenant, running + 1);
      let counted = true;
      const uncount = () => {
        if (!counted) return;
        counted = false;
        const n = (this.perTenant.get(tenant) ?? 1) - 1;
        if (n <= 0) this.perTenant.delete(tenant);
        else this.perTenant.set(tenant, n);
      };
      this.binary ??= resolveCodexBinary(this.options.binaryPath);
      const home = tenantHome(this.options.baseDataDir, tenant);
      const workspace = tenantWorkspace(this.options, tenant);
      prepareTenantHome(this.options, tenant, home, workspace);
      const args = ['exec'];
      if (params.threadId) args.push('resume', params.threadId);
      args.push('--json', '--skip-git-repo-check');
      if (params.ephemeral) args.push('--ephemeral');
      if (params.model) args.push('-m', params.model);
      args.push('-c', `sandbox_mode=${JSON.stringify(params.sandbox ?? this.options.sandbox)}`);
      if (params.effort) args.push('-c', `model_reasoning_effort=${JSON.stringify(params.effort)}`);
      if (params.developerInstructions) {
        args.push('-c', `developer_instructions=${JSON.stringify(params.developerInstructions)}`);
      }
      for (const image of params.images ?? []) args.push('-i', image);
      // The schema goes in a file of the tenant's home (which its codex sees), removed when the process ends.
      const schemaFile = params.outputSchema ? join(home, `output-schema-${randomUUID()}.json`) : null;
      if (schemaFile) {
        writeFileSync(schemaFile, JSON.stringify(params.outputSchema), { mode: 0o600 });
        args.push('--output-schema', schemaFile);
      }
      const removeSchema = () => {
        if (schemaFile) rmSync(schemaFile, { force: true });
      };
      args.push('-');

      const cwd = params.cwd ?? workspace;
      let launch: { command: string; args: string[] };
      try {
        launch = codexLaunch(this.options, this.binary, { home, workspace }, cwd, args);
      } catch (error) {
        uncount();
        removeSchema();
        subscriber.error(error);
        return;
      }
      const child = spawn(launch.command, launch.args, {
        cwd,
        env: childEnvironment(this.options, this.binary, home),
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: process.platform !== 'win32',
      });
      const mapper = new ExecEventMapper(`exec_${randomUUID()}`, params.prompt);
      const stderrTail: string[] = [];
      let ended = false;

      const kill = (signal: NodeJS.Signals) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          child.kill(signal);
        }
      };
      const stop = () => {
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), this.options.stopStageMs);
        timer.unref();
        child.once('exit', () => clearTimeout(timer));
      };
      this.running.add(stop);

      const timeout = setTimeout(() => {
        fail(
          CodexErrorCode.TURN_TIMEOUT,
          `the turn ran longer than ${Math.round(this.options.turnTimeoutMs / 1000)} s and was stopped`,
        );
        stop();
      }, this.options.turnTimeoutMs);
      timeout.unref();
      // codex retries a provider it cannot reach without end: after providerUnreachableMs of that with no
      // progress, the turn fails with PROVIDER_ERROR instead of waiting for the turn timeout.
      let providerWatch: NodeJS.Timeout | null = null;
      const clearTimers = () => {
        clearTimeout(timeout);
        if (providerWatch) clearTimeout(providerWatch);
      };
      const unreachableMs = this.options.providerUnreachableMs;
      const watchProvider = (event: CodexEvent) => {
        if (event.type === 'error' && event.willRetry && PROVIDER_UNREACHABLE.test(event.message)) {
          if (providerWatch) return;
          providerWatch = setTimeout(() => {
            fail(CodexErrorCode.PROVIDER_ERROR, providerUnreachableMessage(unreachableMs, event.message));
            stop();
          }, unreachableMs);
          providerWatch.unref();
        } else if (providerWatch && PROGRESS.has(event.type)) {
          clearTimeout(providerWatch);
          providerWatch = null;
        }
      };
      const emit = (event: CodexEvent) => {
        if (ended) return;
        watchProvider(event);
        subscriber.next(event);
        if (event.type === 'turn.completed') {
          ended = true;
          clearTimers();
          uncount(); // the cap counts running turns; the process only flushes and exits now
          subscriber.complete();
        }
      };
      const framer = new LineFramer((line) => {
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        for (const e of mapper.map(event)) emit(e);
      });
      child.stdout.on('data', (chunk: Buffer) => framer.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => {
        stderrTail.push(chunk.toString('utf8'));
        if (stderrTail.length > 20) stderrTail.shift();
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(params.prompt);

      const fail = (code: CodexErrorCode, message: string) =>
        emit({
          type: 'turn.completed',
          threadId: mapper.threadId,
          turnId: mapper.turnId,
          status: 'failed',
          error: { code, message },
        });

      child.once('error', (err) => {
        this.logger.error(`codex exec could not start: ${err.message}`, 'ExecTransport');
      });
      // What is left of its process group goes with it: a stop that lands while bubblewrap is still building the
      // namespace kills bubblewrap, but codex, forked a moment later, is not yet bound to die with it, and would
      // run on (holding the pipes, so this turn would never close).
      child.once('exit', () => signalGroup(child, 'SIGKILL'));
      child.once('close', (code, signal) => {
        removeSchema();
        clearTimers();
        this.running.delete(stop);
        uncount();
        framer.end();
        if (!ended) {
          this.logger.warn(
            `codex exec ended without a turn result (code ${code}, signal ${signal}): ${stderrTail.join('').slice(-500)}`,
            'ExecTransport',
          );
          fail(
            CodexErrorCode.PROCESS_EXITED,
            `codex exec exited before the turn finished (${signal ? `signal ${signal}` : `code ${code}`})`,
          );
        }
      });

      return () => {
        clearTimers();
        uncount();
        if (!ended) {
          ended = true;
          stop();
          return;
        }
        // The turn finished: codex exits by itself once its rollout is flushed; make sure it does.
        const reaper = setTimeout(stop, this.options.stopStageMs);
        reaper.unref();
        child.once('exit', () => clearTimeout(reaper));
      };
    });
  }

  /** Kills every running exec process. */
  shutdown(): void {
    for (const stop of this.running) stop();
  }
}
