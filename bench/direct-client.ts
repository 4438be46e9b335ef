import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveCodexBinary, writeCodexHome } from '@app/codex-transport';
import { BENCH_MODEL_CATALOG } from './gateway-process';

type Message = { id?: number; method?: string; params?: Record<string, any>; result?: any; error?: any };

/**
 * The limit: a minimal JSON-RPC client talking straight to one `codex app-server` over stdio — no
 * gateway, no transport library. It starts threads and runs turns, timing the first agent-message delta
 * (TTFT) and `turn/completed` from the moment `turn/start` is written.
 */
export class DirectAppServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly turnWaiters = new Map<
    string,
    { onDelta: (text: string) => void; onDone: (status: string) => void }
  >();

  /**
   * An app-server as the bench runs the limit: its own CODEX_HOME with the gateway's defaults (read-only
   * sandbox, no approvals) and the given provider, an empty HOME for codex's shell, in `workspace`.
   */
  static create(options: {
    codexHome: string;
    shellHome: string;
    workspace: string;
    providerBaseUrl: string;
  }): DirectAppServer {
    const binary = resolveCodexBinary();
    writeCodexHome(options.codexHome, {
      model: 'gpt-5-codex',
      reasoningEffort: 'medium',
      sandbox: 'read-only',
      approvalPolicy: 'never',
      modelCatalog: BENCH_MODEL_CATALOG,
      provider: {
        id: 'bench',
        name: 'bench',
        baseUrl: options.providerBaseUrl,
        hasApiKey: false,
        requestMaxRetries: 0,
        streamMaxRetries: 0,
        streamIdleTimeoutMs: 120_000,
      },
    });
    const env = {
      PATH: [...binary.extraPath, process.env.PATH].join(':'),
      HOME: options.shellHome,
      CODEX_HOME: options.codexHome,
      RUST_LOG: 'warn',
    };
    return new DirectAppServer(binary.path, env, options.workspace);
  }

  constructor(binary: string, env: NodeJS.ProcessEnv, cwd: string) {
    // In a session of its own, as the gateway starts codex (to reap its process group): the scheduler
    // shares the CPU between sessions first (autogroups), so the limit runs under the same terms.
    this.child = spawn(binary, ['app-server'], {
      env,
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.onData(chunk));
    this.child.stderr.resume();
  }

  get pid(): number {
    return this.child.pid!;
  }

  async initialize(): Promise<void> {
    await this.request('initialize', {
      clientInfo: { name: 'bench-direct', title: null, version: '0' },
      capabilities: {
        experimentalApi: false,
        optOutNotificationMethods: ['account/rateLimits/updated', 'remoteControl/status/changed'],
      },
    });
    this.write({ method: 'initialized' });
  }

  async startThread(cwd: string): Promise<string> {
    const result = await this.request('thread/start', { cwd });
    return result.thread.id as string;
  }

  /** Runs one turn; resolves with TTFT and latency in ms. `onDelta` sees each agent-message delta's text. */
  runTurn(
    threadId: string,
    text: string,
    onDelta?: (delta: string) => void,
  ): Promise<{ ttftMs: number; latencyMs: number; status: string }> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      let firstDelta: number | null = null;
      this.turnWaiters.set(threadId, {
        onDelta: (delta) => {
          firstDelta ??= performance.now();
          onDelta?.(delta);
        },
        onDone: (status) => {
          this.turnWaiters.delete(threadId);
          const end = performance.now();
          resolve({ ttftMs: (firstDelta ?? end) - started, latencyMs: end - started, status });
        },
      });
      this.request('turn/start', { threadId, input: [{ type: 'text', text, text_elements: [] }] }).catch(reject);
    });
  }

  /** Ends the app-server (its stdin closed) and waits for it; one that has exited is left as it is. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  private request(method: string, params: unknown): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.write({ id, method, params });
    });
  }

  private write(message: object): void {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf('\n');
    while (newline !== -1) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      newline = this.buffer.indexOf('\n');
      if (!line.trim()) continue;
      let message: Message;
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      this.route(message);
    }
  }

  private route(message: Message): void {
    if (message.id !== undefined && message.method === undefined) {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(JSON.stringify(message.error)));
      else waiter.resolve(message.result);
      return;
    }
    if (message.id !== undefined && message.method) {
      // A request to us (approvals): the bench runs with approvals off; refuse anything else.
      this.write({ id: message.id, error: { code: -32601, message: 'not supported by the bench client' } });
      return;
    }
    const threadId = message.params?.threadId as string | undefined;
    if (!threadId) return;
    const waiter = this.turnWaiters.get(threadId);
    if (!waiter) return;
    if (message.method === 'item/agentMessage/delta') waiter.onDelta(String(message.params?.delta ?? ''));
    else if (message.method === 'turn/completed') waiter.onDone(String(message.params?.turn?.status));
  }
}

/**
 * The limit's app-servers by tenant, each its own CODEX_HOME under `dir` and all in one workspace, each
 * started (and initialized) when its tenant is first used, as the gateway's are.
 */
export class DirectAppServers {
  readonly workspace: string;
  private readonly byTenant = new Map<string, Promise<DirectAppServer>>();
  private readonly started: DirectAppServer[] = [];

  constructor(private readonly options: { dir: string; shellHome: string; providerBaseUrl: string }) {
    this.workspace = join(options.dir, 'workspace');
    mkdirSync(this.workspace, { recursive: true });
  }

  /** The tenant's app-server, started on first use. */
  readonly of = (tenant: string): Promise<DirectAppServer> => {
    let server = this.byTenant.get(tenant);
    if (!server) this.byTenant.set(tenant, (server = this.start(tenant)));
    return server;
  };

  /** The processes started so far. */
  pids(): number[] {
    return this.started.map((server) => server.pid);
  }

  async stop(): Promise<void> {
    await Promise.all(this.started.map((server) => server.stop()));
  }

  private async start(tenant: string): Promise<DirectAppServer> {
    const { dir, shellHome, providerBaseUrl } = this.options;
    const server = DirectAppServer.create({
      codexHome: join(dir, tenant),
      shellHome,
      workspace: this.workspace,
      providerBaseUrl,
    });
    this.started.push(server);
    await server.initialize();
    return server;
  }
}
