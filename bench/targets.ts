/** Ratios of a row to its direct limit, and the issue's targets checked against them. */

/** One round's figures of a row. */
export interface RoundFigures {
  turnsPerSecond: number;
  ttftP50: number;
  latencyP50: number;
}

export interface Ratios {
  ttftP50: number;
  latencyP50: number;
  throughput: number;
}

export interface Ratio extends Ratios {
  /** The ratio within each round (when the row and its limit ran the same rounds). */
  rounds?: Ratios[];
}

/** What the ratios and targets need of a row of the report. */
export interface Measured {
  surface: string;
  key: string;
  config: string;
  concurrency: number;
  ttftMs: { p50: number };
  latencyMs: { p50: number };
  turnsPerSecond: number;
  /** The gateway's own CPU per turn (null or absent: no process of its own). */
  gatewayCpuMsPerTurn?: number | null;
  rounds: RoundFigures[];
  ratio?: Ratio;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A row relative to its limit. When both ran the same rounds, each ratio is the median over rounds of the
 * ratio within a round (a surface and its limit run seconds apart in one round, so slow drifts of the
 * machine cancel); otherwise the ratio of the pooled figures.
 */
export function ratioToLimit(row: Measured, limit: Measured): Ratio {
  const a = row.rounds;
  const b = limit.rounds;
  if (a.length === 0 || a.length !== b.length) {
    return {
      ttftP50: row.ttftMs.p50 / limit.ttftMs.p50,
      latencyP50: row.latencyMs.p50 / limit.latencyMs.p50,
      throughput: row.turnsPerSecond / limit.turnsPerSecond,
    };
  }
  const rounds = a.map((r, i) => ({
    ttftP50: r.ttftP50 / b[i].ttftP50,
    latencyP50: r.latencyP50 / b[i].latencyP50,
    throughput: r.turnsPerSecond / b[i].turnsPerSecond,
  }));
  return {
    ttftP50: median(rounds.map((r) => r.ttftP50)),
    latencyP50: median(rounds.map((r) => r.latencyP50)),
    throughput: median(rounds.map((r) => r.throughput)),
    rounds,
  };
}

export interface TargetCheck {
  target: string;
  key: string;
  config: string;
  /** The ratio to the limit, or for the CPU target the gateway's ms per turn. */
  value: number;
  /** The highest value allowed (TTFT, latency, CPU) or the lowest (throughput). */
  bound: number;
  met: boolean;
  /** The lowest and highest ratio of a single round, when there were rounds. */
  spread: [number, number] | null;
}

/** TTFT and latency p50 at concurrency 1 and 32: at most this ratio to the limit. */
const OVERHEAD = 1.05;
/** Throughput at concurrency 32: at least this share of the limit's. */
const THROUGHPUT = 0.95;
/** The gateway's own CPU per turn, on every surface and configuration. */
export const GATEWAY_CPU_MS = 4;
const CPU_TARGET = 'gateway CPU per turn';
/** A stateless request's TTFT p50, against a turn on a thread the limit made beforehand. */
const STATELESS = 1.05;
const STATELESS_TARGET = 'stateless TTFT p50 against a turn on an existing thread';

/**
 * The targets on the gateway's HTTP surfaces (`http`, by surface name): TTFT and latency p50 at
 * concurrency 1 and 32 within 1.05× of the limit, throughput at concurrency 32 (one tenant, and eight
 * tenants × 4) at least 0.95× of it, the gateway's CPU per turn at most 4 ms everywhere, and for the
 * `stateless` surfaces (a new conversation per request) TTFT p50 within 1.05× of a turn on a thread made
 * beforehand, at every concurrency (in place of their TTFT target). `limitOf` is the row a row is compared with.
 */
export function checkTargets<T extends Measured>(
  rows: T[],
  http: Set<string>,
  limitOf: (row: T) => Measured | undefined,
  stateless: Set<string> = new Set(),
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const row of rows) {
    const limit = limitOf(row);
    const ratio = row.ratio;
    if (!http.has(row.surface) || !ratio || !limit) continue;
    const spread = (pick: (r: Ratios) => number): [number, number] | null =>
      ratio.rounds?.length ? [Math.min(...ratio.rounds.map(pick)), Math.max(...ratio.rounds.map(pick))] : null;
    const config = row.config.includes('×') ? row.config : `${row.config} × ${row.concurrency}`;
    const check = (target: string, value: number, bound: number, met: boolean, pick?: (r: Ratios) => number) =>
      checks.push({ target, key: row.key, config, value, bound, met, spread: pick ? spread(pick) : null });
    /** A ratio to the limit held under `bound` (over it with `atLeast`), with its rounds' spread. */
    const ratioCheck = (target: string, pick: (r: Ratios) => number, bound: number, atLeast = false) => {
      const value = pick(ratio);
      check(target, value, bound, atLeast ? value >= bound : value <= bound, pick);
    };
    const isStateless = stateless.has(row.surface);
    if (row.concurrency === 1 || row.concurrency === 32) {
      const c = row.concurrency;
      if (!isStateless) ratioCheck(`TTFT p50 at concurrency ${c}`, (r) => r.ttftP50, OVERHEAD);
      ratioCheck(`latency p50 at concurrency ${c}`, (r) => r.latencyP50, OVERHEAD);
    }
    // A new conversation without thread/start on its critical path: at every concurrency.
    if (isStateless) ratioCheck(STATELESS_TARGET, (r) => r.ttftP50, STATELESS);
    if (row.concurrency === 32) ratioCheck('throughput at concurrency 32', (r) => r.throughput, THROUGHPUT, true);
    const cpu = row.gatewayCpuMsPerTurn;
    if (cpu !== undefined && cpu !== null) check(CPU_TARGET, cpu, GATEWAY_CPU_MS, cpu <= GATEWAY_CPU_MS);
  }
  return checks;
}

/** One line per target: how many checks met it, each surface's value, and a miss with its rounds' spread. */
export function describeTargets(checks: TargetCheck[]): string {
  const lines: string[] = [];
  for (const target of [...new Set(checks.map((c) => c.target))]) {
    const of = checks.filter((c) => c.target === target);
    const cpu = target === CPU_TARGET;
    const bound = cpu
      ? `≤ ${GATEWAY_CPU_MS} ms`
      : `${target.startsWith('throughput') ? '≥' : '≤'} ${of[0].bound.toFixed(2)}×`;
    const configs = new Set(of.map((c) => c.config)).size > 1;
    const each = of.map((c) => {
      const name = configs ? `${c.key} (${c.config})` : c.key;
      const miss = c.met
        ? ''
        : ` MISSED${c.spread ? ` (rounds ${c.spread[0].toFixed(2)}–${c.spread[1].toFixed(2)})` : ''}`;
      return `${name} ${c.value.toFixed(cpu ? 1 : 2)}${cpu ? ' ms' : ''}${miss}`;
    });
    lines.push(`${target}, ${bound}: met by ${of.filter((c) => c.met).length} of ${of.length}: ${each.join(', ')}`);
  }
  return lines.join('\n');
}
