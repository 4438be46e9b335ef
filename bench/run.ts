/**
 * npm run bench [-- --quick] [--configs 1,8,32,8x4] [--rounds N] [--only REGEX] [--deltas N] [--words N] [--delay MS] [--out DIR]
 *
 * Measures, in one run and against one offline provider: the direct app-server limit (a minimal JSON-RPC
 * client on stdio), the transport in-process, every HTTP surface of the production gateway process, and
 * the exec backend for contrast; at concurrency 1, 8 and 32 on one tenant and 8 tenants x 4. Then holds
 * slow streams open to measure their memory cost and keepalive timing, and times a cold start. Prints a
 * markdown table (every row also as a ratio to the direct limit) and writes bench/results/<date>-<host>.json
 * (`-quick` for a quick run, `-partial` for one limited by --configs or --only, or with --rounds).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, hostname, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { AppServerTransport } from '@app/codex-transport';
import { OfflineProvider } from '@app/offline-provider';
import { DirectAppServer } from './direct-client';
import { checkTargets, describeTargets, type Ratio, ratioToLimit, type RoundFigures } from './targets';
import {
  anotherRound,
  cpuTimes,
  distribution,
  type Distribution,
  machineMs,
  pidsWithEnv,
  quiesce,
  type RoundBudget,
  roundOrder,
  rssMb,
  sumRssMb,
  treeCpuMs,
} from './stats';
import {
  agentStreamSurface,
  chatCompletionsSurface,
  chatSurface,
  directNewThreadSurface,
  directSurface,
  resetConnections,
  responsesSurface,
  restSurface,
  type Surface,
  transportSurface,
  type TurnTiming,
} from './surfaces';

const ROOT = resolve(__dirname, '..');
const MAIN = join(ROOT, 'dist/apps/gateway/apps/gateway/src/main.js');

interface Options {
  quick: boolean;
  /** Only these configurations (keys of FULL_CONFIGS: 1, 8, 32, 8x4). */
  configs: string[] | null;
  /** Rounds at every configuration instead of its own number (more for more precision). */
  rounds: number | null;
  /** Only surfaces whose name matches (the direct limits are always measured). */
  only: RegExp | null;
  deltas: number;
  words: number;
  delay: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    configs: null,
    rounds: null,
    only: null,
    deltas: 20,
    words: 60,
    delay: 2,
    out: join(ROOT, 'bench/results'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--deltas') o.deltas = Number(argv[++i]);
    else if (a === '--words') o.words = Number(argv[++i]);
    else if (a === '--delay') o.delay = Number(argv[++i]);
    else if (a === '--out') o.out = resolve(argv[++i]);
    else if (a === '--configs') o.configs = argv[++i].split(',');
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--only') o.only = new RegExp(argv[++i], 'i');
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/** A configuration, and how many rounds over all surfaces it runs (see RoundBudget). */
interface Config extends RoundBudget {
  label: string;
  tenants: number;
  perTenant: number;
  /** Turns per worker in a round. */
  perWorker: number;
  /**
   * Stateless surfaces (and their limit) take part in every this many rounds (1: all), the last of each
   * group: each of their turns starts a thread as well, so theirs are the longest batches.
   */
  statelessEvery: number;
  key: string;
}

/**
 * Concurrency 8 comes first: its turns warm up the code of every surface (V8 optimizes a function after
 * it has run a while; the gateway's CPU per turn falls by about 40% over its first few hundred turns), so
 * concurrency 1 measures the gateway as it runs after a while, not as it starts (cold start is timed apart).
 */
const FULL_CONFIGS: Config[] = [
  // At 8, two turns per worker in a round: the throughput of a steady state, not of one burst of starts.
  {
    key: '8',
    label: '1 tenant',
    tenants: 1,
    perTenant: 8,
    perWorker: 2,
    minRounds: 2,
    maxRounds: 3,
    budgetSeconds: 25,
    statelessEvery: 1,
  },
  {
    key: '1',
    label: '1 tenant',
    tenants: 1,
    perTenant: 1,
    perWorker: 4,
    minRounds: 4,
    maxRounds: 16,
    budgetSeconds: 30,
    statelessEvery: 2,
  },
  // At 32, one turn per worker: 32 turns at once keep both CPUs busy until the last few, and the shorter
  // batches give twice the rounds in the same time (two rounds of two turns took 112 s on a host at a third
  // of its usual speed, past the run's five minutes).
  {
    key: '32',
    label: '1 tenant',
    tenants: 1,
    perTenant: 32,
    perWorker: 1,
    minRounds: 2,
    maxRounds: 10,
    budgetSeconds: 60,
    statelessEvery: 1,
  },
  // Its 7 new tenants (codex processes, and every surface's threads and first turns in them) take most of its time.
  {
    key: '8x4',
    label: '8 tenants × 4',
    tenants: 8,
    perTenant: 4,
    perWorker: 1,
    minRounds: 2,
    maxRounds: 10,
    budgetSeconds: 50,
    statelessEvery: 1,
  },
];
const QUICK_CONFIGS: Config[] = [
  {
    key: '8',
    label: '1 tenant',
    tenants: 1,
    perTenant: 8,
    perWorker: 1,
    minRounds: 2,
    maxRounds: 2,
    budgetSeconds: 0,
    statelessEvery: 2,
  },
  {
    key: '1',
    label: '1 tenant',
    tenants: 1,
    perTenant: 1,
    perWorker: 4,
    minRounds: 3,
    maxRounds: 3,
    budgetSeconds: 0,
    statelessEvery: 1,
  },
];

export interface Row {
  surface: string;
  /** The surface's short name (in the log and the targets). */
  key: string;
  note: string;
  config: string;
  concurrency: number;
  turns: number;
  errors: number;
  ttftMs: Distribution;
  latencyMs: Distribution;
  turnsPerSecond: number;
  gatewayCpuMsPerTurn: number | null;
  codexCpuMsPerTurn: number;
  /** All CPU time spent on the machine during the surface's rounds (codex, gateway, bench client, provider). */
  machineCpuMsPerTurn: number;
  /** Of the machine's CPU time during the surface's rounds, the share stolen by the hypervisor. */
  stealPercent: number;
  gatewayRssMb: number | null;
  codexRssMb: number;
  /** Each round's turns per second, p50s and machine CPU per turn, for ratios paired with the limit's same round. */
  rounds: RoundResult[];
  ratio?: Ratio;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Sample {
  /** The gateway's own CPU ms (null when it has no process of its own). */
  cpu: number | null;
  rss: number | null;
  /** CPU ms of the codex processes serving the surface, with the children they reaped. */
  codexCpu: number;
  codexRss: number;
}

interface Entry {
  surface: Surface;
  sample: () => Sample;
  /**
   * Workers by tenant, kept from one configuration to the next (a later one reuses them and prepares only
   * what it needs more of), so each surface's codex serves as few threads as the run needs; released at
   * the end of the run.
   */
  pool?: Map<string, unknown[]>;
  /** One of the gateway's HTTP surfaces (the targets are theirs). */
  onGateway?: boolean;
}

interface RoundResult extends RoundFigures {
  machineCpuMsPerTurn: number;
  /** Of the machine's CPU time during the batch, the share the hypervisor gave to other guests. */
  stealPercent: number;
}

/** What one surface accumulates over the rounds of a configuration. */
interface Tally {
  workers: Array<{ tenant: string; state: unknown }>;
  timings: TurnTiming[];
  errors: number;
  seconds: number;
  cpuMs: number | null;
  codexCpuMs: number;
  machineCpuMs: number;
  stealMs: number;
  rounds: RoundResult[];
  last: Sample | null;
}

async function runTurns(entry: Entry, tally: Tally, perWorker: number, prompt: string): Promise<void> {
  await Promise.all(
    tally.workers.map(async (w) => {
      for (let i = 0; i < perWorker; i++) {
        try {
          tally.timings.push(await entry.surface.turn(w.state, prompt));
        } catch (error) {
          tally.errors++;
          if (tally.errors <= 3) log(`  ${entry.surface.name}: ${(error as Error).message}`);
        }
      }
    }),
  );
}

/**
 * Measures every surface at one configuration, interleaved: each surface gets its workers (threads,
 * streams; those of an earlier configuration are reused) and a warm-up turn on each new one, then rounds
 * (as many as its RoundBudget allows) in which every surface in turn runs `perWorker` turns on each worker,
 * in an order that changes from round to round. Whatever drifts during the run (loaded threads, caches, the machine) then weighs on
 * every surface alike.
 */
async function measureConfig(entries: Entry[], config: Config, prompt: string): Promise<Row[]> {
  resetConnections();
  const tallies: Tally[] = [];
  const preparing = performance.now();
  const spent: string[] = [];
  for (const entry of entries) {
    const began = performance.now();
    const busyBefore = machineMs().busy;
    const pool = (entry.pool ??= new Map());
    const workers: Tally['workers'] = [];
    const fresh: Tally['workers'] = [];
    await Promise.all(
      Array.from({ length: config.tenants }, async (_, t) => {
        const tenant = `${entry.surface.tenants}-${t}`;
        const kept = pool.get(tenant) ?? [];
        pool.set(tenant, kept);
        const added = await Promise.all(
          Array.from({ length: Math.max(0, config.perTenant - kept.length) }, () => entry.surface.prepare(tenant)),
        );
        kept.push(...added);
        fresh.push(...added.map((state) => ({ tenant, state })));
        workers.push(...kept.slice(0, config.perTenant).map((state: unknown) => ({ tenant, state })));
      }),
    );
    // Not counted: a new worker's first turn loads its thread, opens its connection and lets codex finish
    // the new thread's setup (with the measured prompt, so the code that relays it is warm too). A stateless
    // surface starts a new thread every time; one turn on each new tenant starts its codex process (and the
    // gateway's spare thread), as a tenant in use has them.
    const warm = entry.surface.stateless
      ? fresh.filter((w, i) => fresh.findIndex((x) => x.tenant === w.tenant) === i)
      : fresh;
    await Promise.all(warm.map((w) => entry.surface.turn(w.state, prompt).catch(() => undefined)));
    const wall = performance.now() - began;
    // How busy the machine was meanwhile (not said for a surface with nothing to prepare: 10 ms ticks over no time).
    const busy = wall >= 100 ? ` (${Math.round(((machineMs().busy - busyBefore) / wall / cpus().length) * 100)}%)` : '';
    spent.push(`${entry.surface.key} ${(wall / 1000).toFixed(1)}${busy}`);
    tallies.push({
      workers,
      timings: [],
      errors: 0,
      seconds: 0,
      cpuMs: 0,
      codexCpuMs: 0,
      machineCpuMs: 0,
      stealMs: 0,
      rounds: [],
      last: null,
    });
  }
  log(
    `    prepared and warmed the workers in ${((performance.now() - preparing) / 1000).toFixed(0)} s (${spent.join(', ')})`,
  );
  let quietMs = 0;
  const roundSeconds: number[] = [];
  for (let round = 0; anotherRound(config, roundSeconds); round++) {
    const roundStarted = performance.now();
    for (const i of roundOrder(entries.length, round)) {
      const tally = tallies[i];
      if (entries[i].surface.stateless && round % config.statelessEvery !== config.statelessEvery - 1) continue;
      quietMs += await quiesce();
      const before = entries[i].sample();
      const machineBefore = machineMs();
      const started = performance.now();
      const done = tally.timings.length;
      await runTurns(entries[i], tally, config.perWorker, prompt);
      const seconds = (performance.now() - started) / 1000;
      tally.seconds += seconds;
      const batch = tally.timings.slice(done);
      const machine = machineMs();
      tally.rounds.push({
        turnsPerSecond: batch.length / seconds,
        ttftP50: distribution(batch.map((x) => x.ttftMs)).p50,
        latencyP50: distribution(batch.map((x) => x.latencyMs)).p50,
        machineCpuMsPerTurn: (machine.busy - machineBefore.busy) / Math.max(1, batch.length),
        stealPercent: ((machine.steal - machineBefore.steal) / (seconds * 1000 * cpus().length)) * 100,
      });
      const after = entries[i].sample();
      tally.cpuMs =
        tally.cpuMs !== null && before.cpu !== null && after.cpu !== null
          ? tally.cpuMs + (after.cpu - before.cpu)
          : null;
      tally.codexCpuMs += after.codexCpu - before.codexCpu;
      tally.machineCpuMs += machine.busy - machineBefore.busy;
      tally.stealMs += machine.steal - machineBefore.steal;
      tally.last = after;
    }
    roundSeconds.push((performance.now() - roundStarted) / 1000);
  }
  log(
    `    ${roundSeconds.length} rounds of ${roundSeconds.map((x) => x.toFixed(0)).join(', ')} s; waited ${(quietMs / 1000).toFixed(1)} s in all for the machine to be quiet before each batch`,
  );
  const rows: Row[] = [];
  for (const [i, { surface }] of entries.entries()) {
    const t = tallies[i];
    rows.push({
      surface: surface.name,
      key: surface.key,
      note: surface.note,
      config: config.label,
      concurrency: t.workers.length,
      turns: t.timings.length,
      errors: t.errors,
      ttftMs: distribution(t.timings.map((x) => x.ttftMs)),
      latencyMs: distribution(t.timings.map((x) => x.latencyMs)),
      turnsPerSecond: t.timings.length / t.seconds,
      gatewayCpuMsPerTurn: t.cpuMs === null ? null : t.cpuMs / Math.max(1, t.timings.length),
      codexCpuMsPerTurn: t.codexCpuMs / Math.max(1, t.timings.length),
      machineCpuMsPerTurn: t.machineCpuMs / Math.max(1, t.timings.length),
      stealPercent: (t.stealMs / (t.seconds * 1000 * cpus().length)) * 100,
      gatewayRssMb: t.last?.rss ?? null,
      codexRssMb: t.last?.codexRss ?? 0,
      rounds: t.rounds,
    });
  }
  return rows;
}

interface GatewayProcess {
  child: ChildProcess;
  url: string;
  h2Url: string;
  dataDir: string;
  readyMs: number;
}

async function startGateway(
  dataDir: string,
  providerUrl: string,
  home: string,
  extra: Record<string, string> = {},
): Promise<GatewayProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    HOST: '127.0.0.1',
    PORT: '0',
    CODEX_H2_PORT: '0',
    BASE_DATA_DIR: dataDir,
    CODEX_API_BASE_URL: providerUrl,
    CODEX_MODEL_PROVIDER: 'bench',
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
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
function codexPidsOf(g: GatewayProcess): number[] {
  return pidsWithEnv(g.dataDir).filter((pid) => pid !== g.child.pid);
}

/** CPU and memory of these codex processes; no gateway process of its own. */
function codexSample(pids: number[]): Sample {
  return { cpu: null, rss: null, codexCpu: treeCpuMs(pids), codexRss: sumRssMb(pids) };
}

async function stopGateway(g: GatewayProcess): Promise<void> {
  const exited = new Promise((r) => g.child.once('exit', r));
  g.child.kill('SIGTERM');
  await exited;
}

/**
 * Holds `count` SSE streams open on one silent background response (replays of `GET /v1/responses/{id}
 * ?stream=true`): the gateway's memory per open stream, and whether each gets its keepalive on time.
 */
async function streamCapacity(g: GatewayProcess, count: number, holdMs: number) {
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

function fmt(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits);
}

function table(rows: Row[]): string {
  const head =
    '| surface | config | conc. | turns | TTFT p50/p95/p99 ms | latency p50/p95/p99 ms | turns/s | × limit (TTFT p50 / latency p50 / turns/s) | CPU ms/turn: gateway / codex / machine | gateway RSS MB | codex RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) =>
    [
      r.surface,
      r.config,
      r.concurrency,
      r.errors ? `${r.turns} (${r.errors} err)` : r.turns,
      `${fmt(r.ttftMs.p50)} / ${fmt(r.ttftMs.p95)} / ${fmt(r.ttftMs.p99)}`,
      `${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p95)} / ${fmt(r.latencyMs.p99)}`,
      fmt(r.turnsPerSecond),
      r.ratio ? `${fmt(r.ratio.ttftP50, 2)} / ${fmt(r.ratio.latencyP50, 2)} / ${fmt(r.ratio.throughput, 2)}` : '—',
      `${fmt(r.gatewayCpuMsPerTurn)} / ${fmt(r.codexCpuMsPerTurn)} / ${fmt(r.machineCpuMsPerTurn, 0)}`,
      fmt(r.gatewayRssMb, 0),
      fmt(r.codexRssMb, 0),
    ].join(' | '),
  );
  return [head, ...lines.map((l) => `| ${l} |`)].join('\n');
}

async function main(): Promise<void> {
  const began = performance.now();
  const o = parseArgs(process.argv.slice(2));
  const prompt = `[[words: ${o.words}]] [[deltas: ${o.deltas}]] [[delay: ${o.delay}]] bench`;
  const configs = (o.quick ? QUICK_CONFIGS : FULL_CONFIGS)
    .filter((c) => !o.configs || o.configs.includes(c.key))
    .map((c) => (o.rounds ? { ...c, minRounds: o.rounds, maxRounds: o.rounds } : c));
  // Outside this checkout: in a git work tree codex runs git (rev-parse, remote, status) for every turn and
  // new thread, about a tenth of a turn's cost here, which a gateway's workspace (a volume) does not pay.
  const work = mkdtempSync(join(tmpdir(), 'codex-gateway-bench-'));
  const provider = new OfflineProvider();
  await provider.start();
  log(`bench: prompt ${JSON.stringify(prompt)}, ${o.quick ? 'quick' : 'full'} run, data under ${work}`);

  // Every codex runs under an empty HOME, as in the container image: codex runs the user's login shell
  // profile when it sets up a new thread, and a heavy profile on the machine running the bench (version
  // managers and the like) would otherwise be measured as part of codex.
  const shellHome = join(work, 'home');
  mkdirSync(shellHome, { recursive: true });
  const rows: Row[] = [];
  const children: Array<() => void | Promise<void>> = [];
  try {
    // 1. The limit: one app-server per tenant, straight over stdio, shared by the two limits (see Surface.tenants).
    const directDir = join(work, 'direct');
    mkdirSync(join(directDir, 'workspace'), { recursive: true });
    /** The limits' app-servers by tenant (`direct-3`), each started when its tenant is first used, as the gateway's are. */
    const directServers = new Map<string, Promise<DirectAppServer>>();
    const startedDirect: DirectAppServer[] = [];
    const startDirect = async (tenant: string): Promise<DirectAppServer> => {
      const server = DirectAppServer.create({
        codexHome: join(directDir, tenant),
        shellHome,
        workspace: join(directDir, 'workspace'),
        providerBaseUrl: provider.baseUrl,
      });
      children.push(() => server.stop());
      await server.initialize();
      startedDirect.push(server);
      return server;
    };
    const directServer = (tenant: string): Promise<DirectAppServer> => {
      let server = directServers.get(tenant);
      if (!server) directServers.set(tenant, (server = startDirect(tenant)));
      return server;
    };
    const direct = directSurface(directServer, join(directDir, 'workspace'));
    const directNewThread = directNewThreadSurface(directServer, join(directDir, 'workspace'));
    const directSample = () => codexSample(startedDirect.map((server) => server.pid));
    // codex's share of a cold start: one app-server's spawn and initialize handshake, on a quiet machine.
    const codexStarted = performance.now();
    await directServer(`${direct.tenants}-0`);
    const codexColdStartMs = performance.now() - codexStarted;

    // 2. The transport in-process.
    const transportDir = join(work, 'transport');
    const transport = new AppServerTransport({
      baseDataDir: transportDir,
      workspace: join(transportDir, 'workspace'),
      clientName: 'bench',
      clientVersion: '0',
      model: 'gpt-5-codex',
      reasoningEffort: 'medium',
      provider: { id: 'bench', name: 'bench', baseUrl: provider.baseUrl, requestMaxRetries: 0, streamMaxRetries: 0 },
      sandbox: 'read-only',
      approvalPolicy: 'never',
      env: { PATH: process.env.PATH, HOME: shellHome },
      approvalTimeoutMs: 60_000,
      turnTimeoutMs: 120_000,
      maxSessions: 16,
      maxRunningTurnsPerTenant: 64,
      idleTimeoutMs: 600_000,
      cleanupIntervalMs: 0,
    });
    children.push(() => transport.shutdown());
    const inProcess = transportSurface(transport);
    // Its CPU is not reported: it shares the bench process with the clients and the offline provider.
    const transportSample = () => codexSample(pidsWithEnv(transportDir));

    // 3. The production gateway process.
    const gw = await startGateway(join(work, 'gateway'), provider.baseUrl, shellHome);
    children.push(() => stopGateway(gw));
    const agent = agentStreamSurface(gw.h2Url);
    children.push(() => agent.close());
    /** The gateway, and the codex processes of the surface's tenants. */
    const onGateway = (surface: Surface): Entry => ({
      surface,
      onGateway: true,
      sample: () => ({
        ...codexSample(pidsWithEnv(`${join(gw.dataDir, 'users', surface.tenants)}-`)),
        cpu: cpuTimes(gw.child.pid!).self,
        rss: rssMb(gw.child.pid!),
      }),
    });
    const entries: Entry[] = [
      { surface: direct, sample: directSample },
      { surface: directNewThread, sample: directSample },
      { surface: inProcess, sample: transportSample },
      onGateway(restSurface(gw.url)),
      onGateway(chatCompletionsSurface(gw.url)),
      onGateway(responsesSurface(gw.url)),
      onGateway(chatSurface(gw.url)),
      onGateway(agent),
    ].filter((e) => e.surface === direct || e.surface === directNewThread || !o.only || o.only.test(e.surface.name));
    for (const config of configs) {
      const rounds =
        config.minRounds === config.maxRounds
          ? `${config.minRounds} rounds`
          : `${config.minRounds}-${config.maxRounds} rounds (as many as fit in ${config.budgetSeconds} s)`;
      log(
        `  ${config.label} × ${config.tenants * config.perTenant}: ${rounds} of ${config.perWorker} turn(s) per worker on ${entries.length} surfaces`,
      );
      const started = performance.now();
      rows.push(...(await measureConfig(entries, config, prompt)));
      log(`    took ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    for (const { surface, pool } of entries)
      for (const states of pool?.values() ?? []) for (const state of states) await surface.release?.(state);

    // 4. Stream capacity on the main gateway, idle now; meanwhile (the streams are silent but for their
    // keepalives) the exec backend, a codex process per request, for contrast, on a gateway of its own.
    log('  stream capacity, and meanwhile the exec backend');
    // Held past the 15 s keepalive interval in a full run, so the first keepalive of every stream is timed.
    const capacityRun = streamCapacity(gw, o.quick ? 50 : 200, o.quick ? 3000 : 16_500);
    capacityRun.catch(() => undefined);
    const execGw = await startGateway(join(work, 'exec'), provider.baseUrl, shellHome, { CODEX_BACKEND: 'exec' });
    children.push(() => stopGateway(execGw));
    const execSurface = chatCompletionsSurface(execGw.url, 'exec backend /v1/chat/completions (stream)');
    execSurface.note = 'a codex exec process per request';
    // codex exec processes end with their request: their CPU is the gateway's reaped children's.
    const execSample = () => {
      const t = cpuTimes(execGw.child.pid!);
      return { ...codexSample(codexPidsOf(execGw)), cpu: t.self, rss: rssMb(execGw.child.pid!), codexCpu: t.children };
    };
    const execConfig: Config = {
      key: 'exec',
      label: '1 tenant',
      tenants: 1,
      perTenant: 1,
      perWorker: o.quick ? 3 : 8,
      minRounds: 1,
      maxRounds: 1,
      budgetSeconds: 0,
      statelessEvery: 1,
    };
    const [execRow] = await measureConfig([{ surface: execSurface, sample: execSample }], execConfig, prompt);
    rows.push(execRow);
    const capacity = await capacityRun;

    // Ratios to the direct limit of the same configuration (for stateless surfaces: the new-thread limit).
    const stateless = new Set(
      [...entries, { surface: execSurface }].filter((e) => e.surface.stateless).map((e) => e.surface.name),
    );
    const limitOf = (row: Row) => {
      const base =
        stateless.has(row.surface) && row.surface !== directNewThread.name ? directNewThread.name : direct.name;
      return rows.find((r) => r.surface === base && r.config === row.config && r.concurrency === row.concurrency);
    };
    for (const row of rows) {
      const limit = limitOf(row);
      if (limit) row.ratio = ratioToLimit(row, limit);
    }
    const targets = checkTargets(rows, new Set(entries.filter((e) => e.onGateway).map((e) => e.surface.name)), limitOf);
    // Reported by configuration (one tenant by concurrency, then the pool, then the exec backend), whatever the order they ran in.
    const rank = (r: Row) => (r === execRow ? 3e6 : (r.config === '1 tenant' ? 0 : 1e6) + r.concurrency);
    rows.sort((a, b) => rank(a) - rank(b));
    const appServerChat =
      rows.find((r) => r.surface === 'OpenAI /v1/chat/completions (stream)' && r.concurrency === 1) ?? null;

    const result = {
      date: new Date().toISOString(),
      machine: {
        hostname: hostname(),
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? '',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      options: { ...o, out: relative(ROOT, o.out) || '.', only: o.only?.source ?? null },
      prompt,
      rows,
      execVsAppServer: appServerChat
        ? {
            latencyP50Ratio: execRow.latencyMs.p50 / appServerChat.latencyMs.p50,
            ttftP50Ratio: execRow.ttftMs.p50 / appServerChat.ttftMs.p50,
          }
        : null,
      targets,
      streamCapacity: capacity,
      coldStart: { gatewayReadyMs: gw.readyMs, codexInitializeMs: codexColdStartMs },
      /** The run itself, from the bench's start to its results (the build before it not included). */
      durationSeconds: Math.round((performance.now() - began) / 1000),
    };
    mkdirSync(o.out, { recursive: true });
    const file = join(
      o.out,
      `${result.date.slice(0, 10)}-${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}${o.quick ? '-quick' : ''}${o.configs || o.only || o.rounds ? '-partial' : ''}.json`,
    );
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${table(rows)}\n\n`);
    if (targets.length) process.stdout.write(`${describeTargets(targets)}\n`);
    process.stdout.write(
      `exec backend vs app-server, chat completion at concurrency 1: latency p50 ×${fmt(result.execVsAppServer?.latencyP50Ratio, 2)}, TTFT p50 ×${fmt(result.execVsAppServer?.ttftP50Ratio, 2)}\n`,
    );
    process.stdout.write(
      `${capacity.streams} open streams: gateway RSS ${fmt(capacity.baselineRssMb, 0)} → ${fmt(capacity.heldRssMb, 0)} MB (${fmt(capacity.rssPerStreamKb, 0)} kB per stream; ` +
        (capacity.streams >= 200
          ? `target for 200, under 50 MB in all: ${capacity.heldRssMb - capacity.baselineRssMb < 50 ? 'met' : 'MISSED'}`
          : 'no target for fewer than 200') +
        '); ' +
        (o.quick
          ? 'keepalive timing: full run only\n'
          : `first keepalive on ${capacity.keepalivesReceived}/${capacity.streams} streams, p50 ${fmt(capacity.keepaliveAfterMs?.p50, 0)} ms / p99 ${fmt(capacity.keepaliveAfterMs?.p99, 0)} ms after the stream opened (due after 15000 ms of silence)\n`),
    );
    process.stdout.write(
      `cold start: gateway process to /health/ready ${fmt(result.coldStart.gatewayReadyMs, 0)} ms, of which codex initialize ≈ ${fmt(result.coldStart.codexInitializeMs, 0)} ms\n`,
    );
    process.stdout.write(`run took ${result.durationSeconds} s; results: ${file}\n`);
  } finally {
    for (const stop of children.reverse())
      await Promise.resolve()
        .then(stop)
        .catch(() => undefined);
    await provider.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
