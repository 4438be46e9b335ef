/** The production gateway as the benchmark runs it: started, sampled, held under open streams, stopped. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { modelCatalogEntry } from '@app/codex-transport';
import type { Sample } from './measure';
import { cpuTimes, distribution, pidsWithEnv, rssMb, sumRssMb, treeCpuMs } from './stats';

export const ROOT = resolve(__dirname, '..');
export const MAIN = join(ROOT, 'dist/apps/gateway/apps/gateway/src/main.js');

/** The Node binary the gateway runs on (see setGatewayNode). */
let gatewayNode = process.execPath;

/** Runs the gateways this process starts on another Node binary (the image's; the default is this process's). */
export function setGatewayNode(path: string): void {
  gatewayNode = path;
}

/**
 * The model catalog every codex of the bench gets (the gateway's through `CODEX_MODEL_CATALOG`, the limit's
 * and the in-process transport's directly): the offline provider's model is unknown to codex, which without
 * a catalog naming it logs "Unknown model … fallback model metadata" several times a turn.
 */
export const BENCH_MODEL_CATALOG = [modelCatalogEntry('gpt-5-codex')];

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  h2Url: string;
  dataDir: string;
  readyMs: number;
}

export async function startGateway(
  dataDir: string,
  providerUrl: string,
  home: string,
  extra: Record<string, string> = {},
  /** Options for Node before the gateway's script (the profiler's, for `bench:profile`). */
  nodeArgs: string[] = [],
): Promise<GatewayProcess> {
  mkdirSync(dataDir, { recursive: true });
  const catalog = join(dataDir, 'model-catalog.json');
  writeFileSync(catalog, JSON.stringify({ models: BENCH_MODEL_CATALOG }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    HOST: '127.0.0.1',
    PORT: '0',
    CODEX_H2_PORT: '0',
    BASE_DATA_DIR: dataDir,
    CODEX_API_BASE_URL: providerUrl,
    CODEX_MODEL_PROVIDER: 'bench',
    CODEX_MODEL_CATALOG: catalog,
    CODEX_MAX_CONCURRENCY: '64',
    CODEX_RATE_LIMIT_PER_MINUTE: '0',
    // The gateway's surfaces share 8 tenants (see Surface.tenants), plus the stream-capacity tenant.
    MAX_SESSIONS: '16',
    // Workers are kept from one configuration to the next; their tenants' processes must not be reaped meanwhile.
    IDLE_TIMEOUT_SECONDS: '3600',
    ALLOW_USER_ID_OVERRIDE: 'true',
    LOG_LEVEL: 'info',
    ...extra,
  };
  const started = performance.now();
  const child = spawn(gatewayNode, [...nodeArgs, MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const ports = await new Promise<{ url: string; h2Url: string }>((resolveUrl, reject) => {
    const onData = (c: Buffer) => {
      if (text.length < 100_000) text += c.toString('utf8');
      const http = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      const h2 = /agent stream \(HTTP\/2, cleartext\) on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (http && h2) resolveUrl({ url: http[1], h2Url: h2[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}): ${text.slice(-2000)}`)));
  });
  for (;;) {
    const status = await new Promise<number>((r) =>
      httpRequest(`${ports.url}/health/ready`, (res) => (res.resume(), r(res.statusCode ?? 0)))
        .on('error', () => r(0))
        .end(),
    );
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, ...ports, dataDir, readyMs: performance.now() - started };
}

/** The gateway's codex children (the gateway's own environment names its data directory too). */
export function codexPidsOf(g: GatewayProcess): number[] {
  return pidsWithEnv(g.dataDir).filter((pid) => pid !== g.child.pid);
}

/** CPU and memory of these codex processes; no gateway process of its own. */
export function codexSample(pids: number[]): Sample {
  return { cpu: null, rss: null, codexCpu: treeCpuMs(pids), codexRss: sumRssMb(pids) };
}

/** A server process's own CPU and RSS (the gateway's, the bare relay's), with those of the codex processes serving it. */
export function serverSample(pid: number, codexPids: number[]): Sample {
  return { ...codexSample(codexPids), cpu: cpuTimes(pid).self, rss: rssMb(pid) };
}

/** Stops the gateway (SIGTERM, it drains) and waits for it; a gateway already stopped is left as it is. */
export async function stopGateway(g: GatewayProcess): Promise<void> {
  if (g.child.exitCode !== null || g.child.signalCode !== null) return;
  const exited = new Promise((r) => g.child.once('exit', r));
  g.child.kill('SIGTERM');
  await exited;
}

/**
 * Holds `count` SSE streams open on one silent background response (replays of `GET /v1/responses/{id}
 * ?stream=true`): the gateway's memory per open stream, and whether each gets its keepalive on time.
 */
export async function streamCapacity(g: GatewayProcess, count: number, holdMs: number) {
  const created = await new Promise<{ id: string }>((resolveCreated, reject) => {
    const payload = JSON.stringify({ input: '[[hang]] hold the line', background: true });
    const req = httpRequest(
      `${g.url}/v1/responses`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolveCreated(JSON.parse(text)));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
  await new Promise((r) => setTimeout(r, 500));
  const baseline = rssMb(g.child.pid!);
  const streams: Array<{ req: import('node:http').ClientRequest; opened: number; keepaliveAfterMs: number | null }> =
    [];
  for (let i = 0; i < count; i++) {
    const entry = {
      req: null as unknown as import('node:http').ClientRequest,
      opened: performance.now(),
      keepaliveAfterMs: null as number | null,
    };
    entry.req = httpRequest(`${g.url}/v1/responses/${created.id}?stream=true`, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (entry.keepaliveAfterMs === null && chunk.includes(': keepalive'))
          entry.keepaliveAfterMs = performance.now() - entry.opened;
      });
      res.on('error', () => undefined);
    });
    entry.req.on('error', () => undefined);
    entry.req.end();
    streams.push(entry);
  }
  await new Promise((r) => setTimeout(r, holdMs));
  const held = rssMb(g.child.pid!);
  const keepalives = streams.map((s) => s.keepaliveAfterMs).filter((v): v is number => v !== null);
  for (const s of streams) s.req.destroy();
  await new Promise<void>((r) =>
    httpRequest(
      `${g.url}/v1/responses/${created.id}/cancel`,
      { method: 'POST' },
      (res) => (res.resume(), res.on('end', () => r())),
    )
      .on('error', () => r())
      .end(),
  );
  return {
    streams: count,
    baselineRssMb: baseline,
    heldRssMb: held,
    rssPerStreamKb: ((held - baseline) * 1024) / count,
    keepalivesReceived: keepalives.length,
    keepaliveAfterMs: keepalives.length ? distribution(keepalives) : null,
  };
}
