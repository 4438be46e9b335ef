/**
 * npm run bench:compare -- A.json B.json [--threshold 0.10]
 *
 * Lines up the rows of two bench results (same surface, config and concurrency) and prints the change of
 * TTFT p50, latency p50 and throughput from A to B. A change worse than the threshold (10% by default,
 * and at least 3 ms for times) is flagged as a regression; the exit code is 1 when there is one.
 */
import { readFileSync } from 'node:fs';
import type { Row } from './run';

const args = process.argv.slice(2);
let threshold = 0.1;
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--threshold') threshold = Number(args[++i]);
  else files.push(args[i]);
}
if (files.length !== 2) {
  process.stderr.write('usage: npm run bench:compare -- A.json B.json [--threshold 0.10]\n');
  process.exit(2);
}
const [a, b] = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as { date: string; rows: Row[] });
const key = (r: Row) => `${r.surface} · ${r.config} × ${r.concurrency}`;
const before = new Map(a.rows.map((r) => [key(r), r]));

const pct = (from: number, to: number) => `${to >= from ? '+' : ''}${(((to - from) / from) * 100).toFixed(1)}%`;
let regressions = 0;
const lines = ['| row | TTFT p50 ms | latency p50 ms | turns/s | verdict |', '|---|---|---|---|---|'];
for (const row of b.rows) {
  const old = before.get(key(row));
  if (!old) continue;
  const slower = (from: number, to: number) => to - from > Math.max(from * threshold, 3);
  const worse = [
    slower(old.ttftMs.p50, row.ttftMs.p50) && 'TTFT',
    slower(old.latencyMs.p50, row.latencyMs.p50) && 'latency',
    row.turnsPerSecond < old.turnsPerSecond * (1 - threshold) && 'throughput',
  ].filter(Boolean);
  if (worse.length) regressions++;
  lines.push(
    `| ${key(row)} | ${old.ttftMs.p50.toFixed(1)} → ${row.ttftMs.p50.toFixed(1)} (${pct(old.ttftMs.p50, row.ttftMs.p50)}) | ` +
      `${old.latencyMs.p50.toFixed(1)} → ${row.latencyMs.p50.toFixed(1)} (${pct(old.latencyMs.p50, row.latencyMs.p50)}) | ` +
      `${old.turnsPerSecond.toFixed(1)} → ${row.turnsPerSecond.toFixed(1)} (${pct(old.turnsPerSecond, row.turnsPerSecond)}) | ` +
      `${worse.length ? `REGRESSION (${worse.join(', ')})` : 'ok'} |`,
  );
}
process.stdout.write(`${a.date} → ${b.date}, noise threshold ${(threshold * 100).toFixed(0)}% (and 3 ms)\n\n${lines.join('\n')}\n\n${regressions} regression(s)\n`);
process.exit(regressions > 0 ? 1 : 0);
