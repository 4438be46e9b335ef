import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { firstValueFrom, lastValueFrom, Observable, toArray } from 'rxjs';
import { AppServerTransport, type CodexEvent, type CodexTransportOptions, ExecTransport } from '@app/codex-transport';
import { OfflineProvider } from '@app/offline-provider';

/**
 * Test data lives under the repository (not the system temp dir: codex refuses to create its helper
 * binaries under a temp dir).
 */
export const TEST_DATA_ROOT = resolve(__dirname, '..', '..', '.test-data');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * What this process (a gateway in it) holds after a full collection: heap, buffers, external memory. V8 frees
 * the memory of dead buffers on a background thread after a collection, so one sample can still count some of
 * it on a busy machine; a lagging free only ever adds, so the least of a few samples is the measure. (The
 * process's RSS is no measure of what it keeps: it moved by -60 to +55 MB over the same 20 s soak.)
 */
export async function retainedMb(): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 8; i++) {
    gc();
    const m = process.memoryUsage();
    least = Math.min(least, (m.heapUsed + m.external) / 2 ** 20);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return least;
}

export function makeDataDir(label: string): string {
  mkdirSync(TEST_DATA_ROOT, { recursive: true });
  return mkdtempSync(join(TEST_DATA_ROOT, `${label}-`));
}

/**
 * A self-signed certificate for localhost and 127.0.0.1, valid for a day, made with openssl in a new data
 * directory: `key.pem` and `cert.pem`.
 */
export function selfSignedCertificate(label: string): { dir: string; key: string; cert: string } {
  const dir = makeDataDir(label);
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'];
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', ...subject],
    { stdio: 'ignore' },
  );
  return { dir, key, cert };
}

/**
 * A certificate authority of the test's own and a server certificate for 127.0.0.1 it signed, valid for a
 * day, made with openssl in a new data directory: `ca` (the authority's certificate), `key` and `cert`.
 */
export function certificateAuthority(label: string): { dir: string; ca: string; key: string; cert: string } {
  const dir = makeDataDir(label);
  // Run in `dir` with its files' bare names, so that the arguments split on spaces.
  const openssl = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'ignore' });
  const authority = `-subj /CN=${label.replace(/\W/g, '-')}-test-authority -addext basicConstraints=critical,CA:TRUE`;
  openssl(
    `req -x509 -newkey rsa:2048 -nodes -days 1 ${authority} -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem`,
  );
  openssl('req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout key.pem -out server.csr');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  openssl(
    'x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile server.ext -out cert.pem',
  );
  return { dir, ca: join(dir, 'ca.pem'), key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
}

/** Environment for codex children: enough to run, nothing secret from the test runner. */
export function baseChildEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'USER', 'SHELL']) {
    if (process.env[key]) env[key] = process.env[key];
  }
  return env;
}

export function transportOptions(
  provider: OfflineProvider,
  dataDir: string,
  overrides: Partial<CodexTransportOptions> = {},
): CodexTransportOptions {
  return {
    baseDataDir: dataDir,
    workspace: join(dataDir, 'workspace'),
    clientName: 'codex-gateway-test',
    clientVersion: '0.0.0',
    model: 'gpt-5-codex',
    reasoningEffort: 'medium',
    provider: {
      id: 'offline',
      name: 'Offline provider',
      baseUrl: provider.baseUrl,
      requestMaxRetries: 0,
      streamMaxRetries: 0,
    },
    sandbox: 'read-only',
    approvalPolicy: 'never',
    env: baseChildEnv(),
    approvalTimeoutMs: 60_000,
    turnTimeoutMs: 120_000,
    maxSessions: 10,
    maxRunningTurnsPerTenant: 8,
    idleTimeoutMs: 300_000,
    cleanupIntervalMs: 0,
    interruptGraceMs: 3000,
    stopStageMs: 1000,
    ...overrides,
  };
}

export interface Harness {
  provider: OfflineProvider;
  dataDir: string;
  transport: AppServerTransport;
  exec: ExecTransport;
  options: CodexTransportOptions;
  close(): Promise<void>;
}

export async function createHarness(label: string, overrides: Partial<CodexTransportOptions> = {}): Promise<Harness> {
  const provider = new OfflineProvider();
  await provider.start();
  const dataDir = makeDataDir(label);
  const options = transportOptions(provider, dataDir, overrides);
  const transport = new AppServerTransport(options);
  const exec = new ExecTransport(options);
  return {
    provider,
    dataDir,
    transport,
    exec,
    options,
    async close() {
      exec.shutdown();
      await transport.shutdown();
      await provider.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it holds; fails after 15 s naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached in 15 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function collect(events$: Observable<CodexEvent>): Promise<CodexEvent[]> {
  return lastValueFrom(events$.pipe(toArray()));
}

export function first<T>(o: Observable<T>): Promise<T> {
  return firstValueFrom(o);
}

/** Text of every completed agent message, in order. */
export function agentText(events: CodexEvent[]): string {
  return events
    .filter((e): e is Extract<CodexEvent, { type: 'item.completed' }> => e.type === 'item.completed')
    .map((e) => e.item)
    .filter((i) => i.type === 'agentMessage')
    .map((i) => (i as { text: string }).text)
    .join('\n');
}

/** `ps` lines for the given pids (for failure messages). */
export function describePids(pids: number[]): string {
  if (pids.length === 0) return '';
  try {
    return execFileSync('ps', ['-o', 'pid,ppid,pgid,sid,stat,etimes,args', '-p', pids.join(',')], { encoding: 'utf8' });
  } catch {
    return '(gone)';
  }
}

/**
 * Live codex processes (codex itself, its helpers and the commands it runs; not the bubblewrap that
 * launches it) whose environment mentions `marker` (a data dir of this test run). Throws when `ps` cannot
 * be run: an empty answer must mean "none left", never "could not look".
 */
export function codexProcessesWith(marker: string): Array<{ pid: number; args: string }> {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const found: Array<{ pid: number; args: string }> = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m || !/codex/.test(m[2]) || /^\S*bwrap /.test(m[2])) continue;
    try {
      const state = readFileSync(`/proc/${m[1]}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      if (state === 'Z') continue; // already dead, waiting to be reaped
      const env = readFileSync(`/proc/${m[1]}/environ`, 'utf8');
      if (env.includes(marker)) found.push({ pid: Number(m[1]), args: m[2] });
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

/** PIDs of {@link codexProcessesWith}. */
export function codexPidsWith(marker: string): number[] {
  return codexProcessesWith(marker).map((p) => p.pid);
}

/** The process group of `pid` (every codex of a session shares its launcher's group); null once it is gone. */
export function processGroupOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.replace(/^.*\) /, '').split(' ')[2]);
  } catch {
    return null;
  }
}

/**
 * Codex processes of this run that are still alive, after giving killed ones a moment to finish dying
 * (a SIGKILLed process is gone within milliseconds; anything left after 3 s was never stopped).
 */
export async function survivingCodexProcesses(marker: string): Promise<string> {
  const deadline = Date.now() + 3000;
  let pids = codexPidsWith(marker);
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    pids = codexPidsWith(marker);
  }
  return describePids(pids);
}
