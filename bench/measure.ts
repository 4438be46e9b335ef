/** Runs a configuration's rounds over the surfaces and turns what it measured into rows. */
import { cpus } from 'node:os';
import type { Config } from './configs';
import { anotherRound, distribution, type Distribution, machineMs, quiesce, roundOrder } from './stats';
import { resetConnections, type Surface, type TurnTiming } from './surfaces';
import { type Ratio, type RoundFigures } from './targets';

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

export const log = (line: string) => process.stderr.write(`${line}\n`);

export interface Sample {
  /** The gateway's own CPU ms (null when it has no process of its own). */
  cpu: number | null;
  rss: number | null;
  /** CPU ms of the codex processes serving the surface, with the children they reaped. */
  codexCpu: number;
  codexRss: number;
}

export interface Entry {
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

export interface RoundResult extends RoundFigures {
  machineCpuMsPerTurn: number;
  /** Of the machine's CPU time during the batch, the share the hypervisor gave to other guests. */
  stealPercent: number;
}

/** What one surface accumulates over the rounds of a configuration. */
export interface Tally {
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

export async function runTurns(entry: Entry, tally: Tally, perWorker: number, prompt: string): Promise<void> {
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
 * streams; those of an earlier configuration are reused) and a warm-up turn on each new one (and the
 * configuration's warmTurns on every worker), then rounds
 * (as many as its RoundBudget allows) in which every surface in turn runs `perWorker` turns on each worker,
 * in an order that changes from round to round. Whatever drifts during the run (loaded threads, caches, the machine) then weighs on
 * every surface alike.
 */
export async function measureConfig(entries: Entry[], config: Config, prompt: string): Promise<Row[]> {
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
  if (config.warmTurns) {
    const warming = performance.now();
    for (const [i, entry] of entries.entries()) {
      await runTurns(entry, { ...tallies[i], timings: [], errors: 0 }, config.warmTurns, prompt);
    }
    log(
      `    then ${config.warmTurns} uncounted turns per worker on every surface in ${((performance.now() - warming) / 1000).toFixed(0)} s`,
    );
  }
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
