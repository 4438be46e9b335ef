/** The benchmark's markdown table. */
import type { Row } from './measure';

export function fmt(n: number | null | undefined, digits = 1): string {
  return n === null || n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits);
}

export function table(rows: Row[]): string {
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
