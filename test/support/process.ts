import { type ChildProcess, spawn } from 'node:child_process';

export interface ListeningGateway {
  url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** The gateway's own node pid, from its log prefix (the child may be npm or runuser). */
  nodePid(): number;
}

/** Resolves once a started gateway logs its listening address; rejects if it exits first. */
export function whenListening(child: ChildProcess, label: string): Promise<ListeningGateway> {
  let text = '';
  const gateway = (url: string): ListeningGateway => ({
    url,
    output: () => text,
    nodePid: () => Number(/"pid":(\d+)/.exec(text)?.[1]),
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) resolve(gateway(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${label} exited early (${code}):\n${text}`)));
  });
}

/** A port free on 127.0.0.1 right now (for a child that must be told its port up front). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as import('node:net').AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface ProductionGateway {
  child: ChildProcess;
  url: string;
  /** The HTTP/2 agent-stream listener (`https://` with TLS). */
  h2Url: string;
  /** Everything the process printed on stdout so far. */
  stdout(): string;
  output(): string;
  /** Signals the process and resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the production build (`node dist/…/main.js`, built beforehand) with `env` on free loopback
 * ports and resolves once `/health/live` answers, so it works at every LOG_LEVEL. `node` picks the Node
 * binary (default: the one running the tests).
 */
export async function startProductionGateway(
  env: NodeJS.ProcessEnv,
  options: { node?: string; cwd: string; main: string; tls?: boolean },
): Promise<ProductionGateway> {
  const [port, h2Port] = [await freePort(), await freePort()];
  const child = spawn(options.node ?? process.execPath, [options.main], {
    cwd: options.cwd,
    env: { ...env, HOST: '127.0.0.1', PORT: String(port), CODEX_H2_PORT: String(h2Port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let all = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    all += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => (all += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`gateway exited early (${child.exitCode}):\n${all}`);
    const ok = await fetch(`${url}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not live in 60 s:\n${all}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url,
    h2Url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${h2Port}`,
    stdout: () => stdout,
    output: () => all,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
