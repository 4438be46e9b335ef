import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { CodexErrorCode, CodexTransportError } from '../errors/codex-transport.error';
import type { TransportLogger } from '../logger';
import { signalGroup } from '../process-group';
import { type JsonRpcConnectionOptions, JsonRpcConnection } from './json-rpc-connection';

export interface AppServerProcessOptions {
  binary: string;
  args?: string[];
  /** Starts `binary app-server …args` through another command (the tenant's namespaces); default: directly. */
  launch?: (args: string[]) => { command: string; args: string[] };
  env: NodeJS.ProcessEnv;
  cwd: string;
  clientName: string;
  clientVersion: string;
  /** Notifications codex should not send at all (saves parsing work). */
  optOutNotifications?: string[];
  handshakeTimeoutMs: number;
  requestTimeoutMs: number;
  /** How long each shutdown stage (end stdin, SIGTERM) may take before the next. */
  stopStageMs: number;
  logger: TransportLogger;
  handlers: Pick<JsonRpcConnectionOptions, 'onNotification' | 'onRequest' | 'onOutgoing' | 'onIncomingResult'>;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the gateway asked it to stop. */
  expected: boolean;
}

const STDERR_TAIL_LINES = 40;
const STDERR_LINE_MAX = 2000;

/**
 * One `codex app-server` child: spawned in its own process group, ready only after the `initialize`
 * handshake, stopped in stages (end stdin → SIGTERM → SIGKILL to the group) so nothing it started
 * survives it. Emits `exit` once with a {@link ProcessExit}.
 */
export class AppServerProcess extends EventEmitter {
  readonly connection: JsonRpcConnection;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stderrTail: string[] = [];
  private stopping: Promise<void> | null = null;
  private exited = false;
  private readonly stderrEnded: Promise<void>;
  private readonly exitPromise: Promise<ProcessExit>;
  readonly startedAt = Date.now();

  constructor(private readonly options: AppServerProcessOptions) {
    super();
    const args = ['app-server', ...(options.args ?? [])];
    const { command, args: argv } = options.launch?.(args) ?? { command: options.binary, args };
    this.child = spawn(command, argv, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    this.connection = new JsonRpcConnection(this.child.stdout, this.child.stdin, {
      ...options.handlers,
      requestTimeoutMs: options.requestTimeoutMs,
      onNoise: (line) => options.logger.debug?.(`non-protocol output: ${line.slice(0, 200)}`, 'AppServerProcess'),
    });
    let pendingStderr = '';
    this.stderrEnded = new Promise((resolve) => this.child.stderr.once('close', () => resolve()));
    this.child.stderr.on('data', (chunk: Buffer) => {
      const text = pendingStderr + chunk.toString('utf8');
      const lines = text.split('\n');
      pendingStderr = (lines.pop() ?? '').slice(-STDERR_LINE_MAX);
      for (const line of lines) this.pushStderr(line);
    });
    this.exitPromise = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exited) return;
        this.exited = true;
        this.killGroupLeftovers();
        const exit: ProcessExit = { code, signal, expected: this.stopping !== null };
        this.connection.dispose(
          new CodexTransportError(CodexErrorCode.PROCESS_EXITED, this.describeExit(exit), {
            stderr: this.stderrTail.slice(-10),
          }),
        );
        resolve(exit);
        this.emit('exit', exit);
      };
      this.child.once('exit', finish);
      this.child.once('error', (err) => {
        this.pushStderr(`spawn error: ${err.message}`);
        finish(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isAlive(): boolean {
    return !this.exited;
  }

  /** Last stderr lines (ANSI stripped), for error details in logs. */
  get recentStderr(): string[] {
    return [...this.stderrTail];
  }

  /** Performs the initialize handshake; rejects (and stops the process) when it fails or times out. */
  async initialize(): Promise<Record<string, unknown>> {
    try {
      const result = await this.connection.request<Record<string, unknown>>(
        'initialize',
        {
          clientInfo: { name: this.options.clientName, title: null, version: this.options.clientVersion },
          capabilities: {
            // dynamic tools (thread/start `dynamicTools`, server request `item/tool/call`) are experimental
            experimentalApi: true,
            optOutNotificationMethods: this.options.optOutNotifications ?? [],
          },
        },
        this.options.handshakeTimeoutMs,
      );
      this.connection.notify('initialized');
      return result;
    } catch (error) {
      await this.stop();
      // What codex printed before exiting (its reason) may still be in the pipe.
      await Promise.race([this.stderrEnded, new Promise((r) => setTimeout(r, 500).unref())]);
      const reason = startFailureReason(error, this.stderrTail);
      throw new CodexTransportError(CodexErrorCode.START_FAILED, `codex app-server did not initialize: ${reason}`, {
        reason,
        stderr: this.stderrTail.slice(-5).join(' | '),
      });
    }
  }

  waitForExit(): Promise<ProcessExit> {
    return this.exitPromise;
  }

  /** Staged stop: end stdin, then SIGTERM, then SIGKILL, each to the whole process group. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (!this.exited) {
        this.child.stdin.end();
        if (!(await this.exitedWithin(this.options.stopStageMs))) {
          this.signal('SIGTERM');
          if (!(await this.exitedWithin(this.options.stopStageMs))) {
            this.signal('SIGKILL');
            await this.exitPromise;
          }
        }
      }
      await this.groupGone(this.options.stopStageMs);
    })();
    return this.stopping;
  }

  /** Resolves once no process of the group is left (what codex started may still be forking). */
  private async groupGone(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    // Again and again: a shell in the group may fork while the first SIGKILL lands.
    while (Date.now() < deadline && signalGroup(this.child, 'SIGKILL')) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Sends a signal to the process group (falls back to the process alone). */
  signal(signal: NodeJS.Signals): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(process.platform === 'win32' ? this.child.pid : -this.child.pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /**
   * Whatever codex started (shell snapshot, commands) shares its process group and may outlive it;
   * nothing there is worth waiting for once app-server itself is gone.
   */
  private killGroupLeftovers(): void {
    signalGroup(this.child, 'SIGKILL');
  }

  private exitedWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      timer.unref();
      void this.exitPromise.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private pushStderr(line: string): void {
    // eslint-disable-next-line no-control-regex
    const clean = line.replace(/\x1b\[[0-9;]*m/g, '').trim();
    if (!clean) return;
    this.stderrTail.push(clean.slice(0, STDERR_LINE_MAX));
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
  }

  private describeExit(exit: ProcessExit): string {
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    return exit.expected ? `codex app-server stopped (${how})` : `codex app-server exited unexpectedly (${how})`;
  }
}

/**
 * codex's own words for a failed start: the message of a refused `initialize`, or the `Error: …` line it
 * printed before exiting (codex exits at start on a config.toml it refuses, e.g. `approval_policy =
 * "untrusted"`), else what happened to the process.
 */
export function startFailureReason(error: unknown, stderr: readonly string[]): string {
  const rpc = (error as CodexTransportError)?.details?.rpc as { message?: unknown } | undefined;
  if (typeof rpc?.message === 'string') return rpc.message;
  const stated = [...stderr].reverse().find((line) => /^Error\b/.test(line));
  if (stated) return stated.replace(/^Error:?\s*/, '');
  const last = [...stderr].reverse().find((line) => !/^\d+:|^at |^Stack backtrace/.test(line));
  const what = (error as Error)?.message ?? String(error);
  return last ? `${what}: ${last}` : what;
}
