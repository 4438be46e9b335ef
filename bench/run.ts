/**
 * npm run bench [-- --quick] [--scale [--streams 50x10]] [--configs 1,8,32,8x4] [--rounds N] [--only REGEX] [--deltas N] [--words N] [--delay MS] [--node image|current|PATH] [--out DIR]
 *
 * Measures, in one run and against one offline provider: the direct app-server limit (a minimal JSON-RPC
 * client on stdio), the transport in-process, every HTTP surface of the production gateway process, and
 * the exec backend for contrast; at concurrency 1, 8 and 32 on one tenant and 8 tenants x 4. Then holds
 * slow streams open to measure their memory cost and keepalive timing, measures the gateway idle and times a cold start. Prints a
 * markdown table (every row also as a ratio to the direct limit) and writes bench/results/<date>-<host>.json
 * (`-quick` for a quick run, `-partial` for one limited by --configs or --only, or with --rounds).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { AppServerTransport } from '@app/codex-transport';
import { OfflineProvider } from '@app/offline-provider';
import { FULL_CONFIGS, parseArgs, QUICK_CONFIGS, type Config } from './configs';
import { bareRelayEntry, startBareRelay, stopBareRelay } from './bare-relay';
import { DirectAppServers } from './direct-client';
import {
  BENCH_MODEL_CATALOG,
  codexPidsOf,
  codexSample,
  ROOT,
  serverSample,
  setGatewayNode,
  startGateway,
  stopGateway,
  streamCapacity,
} from './gateway-process';
import { resolveGatewayNode } from './image-node';
import { type Entry, log, measureConfig, type Row } from './measure';
import { fmt, table } from './report';
import { cpuTimes, pidsWithEnv, quiesce, rssMb } from './stats';
import {
  agentStreamSurface,
  chatCompletionsSurface,
  chatSurface,
  directNewThreadSurface,
  directSurface,
  newChatSurface,
  responsesSurface,
  statelessResponsesSurface,
  restSurface,
  type Surface,
  transportSurface,
} from './surfaces';
import { checkTargets, describeTargets, ratioToLimit } from './targets';
import { COLD_TENANT_P50_MS, type ColdTenants, coldTenants } from './cold-tenants';
import {
  ADDED_DELAY_P99_MS,
  addedDelay,
  directOpenStreams,
  gatewayOpenStreams,
  OPEN_STREAMS,
  type OpenStreams,
} from './open-streams';

async function main(): Promise<void> {
  const began = performance.now();
  const o = parseArgs(process.argv.slice(2));
  // Before anything is made: a Node that cannot be had ends the run with nothing to clean up.
  const gatewayNode = await resolveGatewayNode(o.node);
  setGatewayNode(gatewayNode.path);
  const prompt = `[[words: ${o.words}]] [[deltas: ${o.deltas}]] [[delay: ${o.delay}]] bench`;
  const configs = (o.quick ? QUICK_CONFIGS : FULL_CONFIGS)
    .filter((c) => !o.configs || o.configs.includes(c.key))
    .map((c) => (o.rounds ? { ...c, minRounds: o.rounds, maxRounds: o.rounds } : c));
  // Outside this checkout: in a git work tree codex runs git (rev-parse, remote, status) for every turn and
  // new thread, about a tenth of a turn's cost here, which a gateway's workspace (a volume) does not pay.
  const work = mkdtempSync(join(tmpdir(), 'codex-gateway-bench-'));
  const provider = new OfflineProvider();
  await provider.start();
  log(`bench: the gateway runs on Node ${gatewayNode.version} (${gatewayNode.what})`);
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
    const directServers = new DirectAppServers({
      dir: join(work, 'direct'),
      shellHome,
      providerBaseUrl: provider.baseUrl,
    });
    children.push(() => directServers.stop());
    const direct = directSurface(directServers.of, directServers.workspace);
    const directNewThread = directNewThreadSurface(directServers.of, directServers.workspace);
    const directSample = () => codexSample(directServers.pids());
    // codex's share of a cold start: one app-server's spawn and initialize handshake, on a quiet machine.
    const codexStarted = performance.now();
    await directServers.of(`${direct.tenants}-0`);
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
      modelCatalog: BENCH_MODEL_CATALOG,
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

    // 3. The floor for any HTTP service in front of codex: a bare relay process, on the gateway's Node.
    const relay = await startBareRelay(gatewayNode.path, join(work, 'relay'), provider.baseUrl, shellHome);
    children.push(() => stopBareRelay(relay));

    // 4. The production gateway process.
    const gw = await startGateway(join(work, 'gateway'), provider.baseUrl, shellHome);
    children.push(() => stopGateway(gw));
    const agent = agentStreamSurface(gw.h2Url);
    children.push(() => agent.close());
    /** The gateway, and the codex processes of the surface's tenants. */
    const onGateway = (surface: Surface): Entry => ({
      surface,
      onGateway: true,
      sample: () => serverSample(gw.child.pid!, pidsWithEnv(`${join(gw.dataDir, 'users', surface.tenants)}-`)),
    });
    const entries: Entry[] = [
      { surface: direct, sample: directSample },
      { surface: directNewThread, sample: directSample },
      { surface: inProcess, sample: transportSample },
      bareRelayEntry(relay),
      onGateway(restSurface(gw.url)),
      onGateway(chatCompletionsSurface(gw.url)),
      onGateway(responsesSurface(gw.url)),
      onGateway(statelessResponsesSurface(gw.url)),
      onGateway(chatSurface(gw.url)),
      onGateway(newChatSurface(gw.url)),
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

    // 5. The main gateway idle for a few seconds, its tenants' codex still running: what its own timers cost.
    await quiesce();
    const idleFrom = { cpu: cpuTimes(gw.child.pid!).self, at: performance.now() };
    await new Promise((r) => setTimeout(r, o.quick ? 2000 : 5000));
    const idleGatewayCpuMsPerSecond =
      (cpuTimes(gw.child.pid!).self - idleFrom.cpu) / ((performance.now() - idleFrom.at) / 1000);

    // 6. Stream capacity on the main gateway, idle now; meanwhile (the streams are silent but for their
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

    // 7. With --scale: new tenants one after another, on a gateway of their own.
    let cold: ColdTenants | null = null;
    if (o.scale) {
      log('  new tenants, one after another (--scale)');
      const coldGw = await startGateway(join(work, 'cold'), provider.baseUrl, shellHome, { MAX_SESSIONS: '64' });
      children.push(() => stopGateway(coldGw));
      cold = await coldTenants(coldGw, 20, prompt);
      await stopGateway(coldGw);
    }
    // 8. With --scale: many slow streams open at once, from the limit's app-servers, then through a gateway of
    // their own, at each step's count.
    const open: OpenStreams[] = [];
    for (const step of o.scale ? (o.streams ?? OPEN_STREAMS) : []) {
      const options = { ...OPEN_STREAMS[0], ...step };
      log(`  ${options.tenants} tenants × ${options.perTenant} open streams: the limit, then the gateway (--scale)`);
      const dir = join(work, `open-${options.tenants}x${options.perTenant}`);
      const directPhase = await directOpenStreams(
        options,
        new DirectAppServers({ dir: join(dir, 'direct'), shellHome, providerBaseUrl: provider.baseUrl }),
      );
      const openGw = await startGateway(join(dir, 'gateway'), provider.baseUrl, shellHome, {
        MAX_SESSIONS: String(options.tenants + 1),
        CODEX_MAX_CONCURRENCY: String(options.perTenant),
      });
      children.push(() => stopGateway(openGw));
      const gatewayPhase = await gatewayOpenStreams(options, openGw);
      await stopGateway(openGw);
      open.push({
        options,
        direct: directPhase,
        gateway: gatewayPhase,
        addedDelayMs: addedDelay(directPhase, gatewayPhase),
      });
    }

    // Ratios to the direct limit of the same configuration: a turn on a thread made beforehand, for the
    // stateless surfaces too (their threads are started ahead); the new-thread limit's ratio is what
    // codex's thread/start costs.
    const stateless = new Set(entries.filter((e) => e.surface.stateless && e.onGateway).map((e) => e.surface.name));
    const limitOf = (row: Row) =>
      rows.find((r) => r.surface === direct.name && r.config === row.config && r.concurrency === row.concurrency);
    for (const row of rows) {
      const limit = limitOf(row);
      if (limit) row.ratio = ratioToLimit(row, limit);
    }
    const targets = checkTargets(
      rows,
      new Set(entries.filter((e) => e.onGateway).map((e) => e.surface.name)),
      limitOf,
      stateless,
    );
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
        gatewayNode: gatewayNode.version,
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
      idleGatewayCpuMsPerSecond,
      coldTenants: cold,
      openStreams: open.length ? open : null,
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
      `idle gateway (no request, its tenants' codex running): ${fmt(idleGatewayCpuMsPerSecond, 1)} ms of CPU a second\n`,
    );
    process.stdout.write(
      `cold start: gateway process to /health/ready ${fmt(result.coldStart.gatewayReadyMs, 0)} ms, of which codex initialize ≈ ${fmt(result.coldStart.codexInitializeMs, 0)} ms\n`,
    );
    if (cold) {
      const d = (x: { p50: number; p95: number }) => `${fmt(x.p50, 0)} / ${fmt(x.p95, 0)}`;
      process.stdout.write(
        `new tenants (${cold.tenants}, one after another), p50 / p95: first request → first delta ${d(cold.firstDeltaMs)} ms ` +
          `(target p50 ≤ ${COLD_TENANT_P50_MS} ms: ${cold.firstDeltaMs.p50 <= COLD_TENANT_P50_MS ? 'met' : 'MISSED'}); ` +
          `in parts: codex spawn + initialize ${d(cold.split.spawnInitializeMs)} ms, thread/start ${d(cold.split.threadStartMs)} ms, ` +
          `first delta ${d(cold.split.firstDeltaMs)} ms; codex RSS per tenant: after one conversation ${d(cold.rssMb.afterOne)} MB, ` +
          `after ten ${d(cold.rssMb.afterTen)} MB, of which its own (not shared with other codex processes) ` +
          `${d(cold.privateMb.afterOne)} and ${d(cold.privateMb.afterTen)} MB\n`,
      );
    }
    for (const step of open) process.stdout.write(`${describeOpenStreams(step)}\n`);
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

/** The open streams' lines: delays, what the gateway adds, its cost per stream, and what limits the count. */
function describeOpenStreams(open: OpenStreams): string {
  const { options: o, direct, gateway, addedDelayMs: added } = open;
  const d = (x: { p50: number; p99: number; max: number }) => `${fmt(x.p50)} / ${fmt(x.p99)} / ${fmt(x.max, 0)}`;
  const bySurface = Object.entries(gateway.delayMsByKey)
    .map(([key, x]) => `${key} ${d(x)}`)
    .join(', ');
  const perStreamSecond = direct.codexCpuMsPerStreamSecond + (gateway.gatewayCpuMsPerStreamSecond ?? 0);
  const met =
    added.p99 <= ADDED_DELAY_P99_MS && direct.errors + gateway.errors === 0 && gateway.open === gateway.streams;
  const saturated = Math.max(direct.machineBusyPercent, gateway.machineBusyPercent) >= 90;
  const limits = saturated
    ? `the machine, busy ${fmt(direct.machineBusyPercent, 0)}% / ${fmt(gateway.machineBusyPercent, 0)}%: ` +
      `a turn's start costs codex about 0.1 s of CPU, so ${direct.open} / ${gateway.open} of ${direct.streams} streams had started when the hold began, ` +
      `and their readers got ${fmt(direct.deliveredPercent, 0)}% / ${fmt(gateway.deliveredPercent, 0)}% of the deltas sent meanwhile (codex fell behind)`
    : `at ${fmt(perStreamSecond, 1)} ms of CPU per stream-second (codex ${fmt(direct.codexCpuMsPerStreamSecond, 1)}, ` +
      `gateway ${fmt(gateway.gatewayCpuMsPerStreamSecond, 1)}), this machine's ${cpus().length} cores carry about ` +
      `${Math.floor((cpus().length * 1000) / perStreamSecond)} such streams`;
  return [
    `${o.tenants * o.perTenant} open streams (${o.tenants} tenants × ${o.perTenant}, a delta every ${o.deltaEveryMs} ms), limit / gateway: ` +
      `streaming ${direct.open} / ${gateway.open} after ${fmt(direct.startSeconds)} / ${fmt(gateway.startSeconds)} s, held ${fmt(direct.holdSeconds, 0)} / ${fmt(gateway.holdSeconds, 0)} s; ` +
      `errors ${direct.errors} / ${gateway.errors}`,
    `  delay from the provider's stamp to the reader, p50 / p99 / max ms: limit ${d(direct.delayMs)} (${direct.deltas} deltas), ` +
      `gateway ${d(gateway.delayMs)} (${gateway.deltas}; ${bySurface})`,
    `  added by the gateway: p50 ${fmt(added.p50)} ms, p99 ${fmt(added.p99)} ms, max ${fmt(added.max, 0)} ms ` +
      `(target p99 ≤ ${ADDED_DELAY_P99_MS} ms with every stream open, no error: ${met ? 'met' : 'MISSED'})`,
    `  per open stream: gateway CPU ${fmt(gateway.gatewayCpuMsPerStreamSecond, 2)} ms per stream-second, RSS ${fmt(gateway.gatewayRssKbPerStream, 0)} kB; ` +
      `codex CPU ${fmt(direct.codexCpuMsPerStreamSecond, 2)} / ${fmt(gateway.codexCpuMsPerStreamSecond, 2)} ms per stream-second, RSS ${fmt(gateway.codexRssMbPerStream, 1)} MB; ` +
      `machine busy ${fmt(direct.machineBusyPercent, 0)}% / ${fmt(gateway.machineBusyPercent, 0)}%`,
    `  what limits it: ${limits}`,
  ].join('\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
