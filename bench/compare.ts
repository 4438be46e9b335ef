/**
 * npm run bench:compare -- A.json B.json [--threshold 0.10] [--ratios]
 *
 * Lines up the rows of two bench results (same surface, config and concurrency) and prints the change of
 * TTFT p50, latency p50 and throughput from A to B. A change worse than the threshold (10% by default,
 * and at least 3 ms for times) is flagged as a regression; the exit code is 1 when there is one. With
 * `--ratios` it compares each row's ratios to the limit measured in its own run instead, which is what to
 * compare between runs on hosts of different speed.
 */
import { readFileSync } from 'node:fs';
import type { Row } from './measure';

const args = process.argv.slice(2);
let threshold = 0.1;
let ratios = false;
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--threshold') threshold = Number(args[++i]);
  else if (args[i] === '--ratios') ratios = true;
  else files.push(args[i]);
}
if (files.length !== 2) {
  process.stderr.write('usage: npm run bench:compare -- A.json B.json [--threshold 0.10] [--ratios]\n');
  process.exit(2);
}
const [a, b] = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as { date: string; rows: Row[] });
const key = (r: Row) => `${r.surface} · ${r.config} × ${r.concurrency}`;
const before = new Map(a.rows.map((r) => [key(r), r]));

/** The three figures compared: times in ms and turns per second, or their ratios to the limit. */
const figures = (r: Row): { ttft: number; latency: number; throughput: number } | null =>
  ratios
    ? r.ratio
      ? { ttft: r.ratio.ttftP50, latency: r.ratio.latencyP50, throughput: r.ratio.throughput }
      : null
    : { ttft: r.ttftMs.p50, latency: r.latencyMs.p50, throughput: r.turnsPerSecond };
const floor = ratios ? 0 : 3;
const digits = ratios ? 2 : 1;

const pct = (from: number, to: number) => `${to >= from ? '+' : ''}${(((to - from) / from) * 100).toFixed(1)}%`;
const change = (from: number, to: number) => `${from.toFixed(digits)} → ${to.toFixed(digits)} (${pct(from, to)})`;
let regressions = 0;
const head = ratios
  ? '| row | TTFT p50 × limit | latency p50 × limit | turns/s × limit | verdict |'
  : '| row | TTFT p50 ms | latency p50 ms | turns/s | verdict |';
const lines = [head, '|---|---|---|---|---|'];
for (const row of b.rows) {
  const old = before.get(key(row));
  const from = old && figures(old);
  const to = figures(row);
  if (!from || !to) continue;
  const slower = (x: number, y: number) => y - x > Math.max(x * threshold, floor);
  const worse = [
    slower(from.ttft, to.ttft) && 'TTFT',
    slower(from.latency, to.latency) && 'latency',
    to.throughput < from.throughput * (1 - threshold) && 'throughput',
  ].filter(Boolean);
  if (worse.length) regressions++;
  lines.push(
    `| ${key(row)} | ${change(from.ttft, to.ttft)} | ${change(from.latency, to.latency)} | ${change(from.throughput, to.throughput)} | ` +
      `${worse.length ? `REGRESSION (${worse.join(', ')})` : 'ok'} |`,
  );
}
const compared = ratios ? 'ratios to the limit of each run' : 'times and throughput';
process.stdout.write(
  `${a.date} → ${b.date}, ${compared}, noise threshold ${(threshold * 100).toFixed(0)}%${ratios ? '' : ' (and 3 ms)'}\n\n${lines.join('\n')}\n\n${regressions} regression(s)\n`,
);
process.exit(regressions > 0 ? 1 : 0);
