import { readdirSync, readFileSync } from 'node:fs';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export interface Distribution {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

const TICKS = 100; // USER_HZ on Linux

/** CPU time (user + system) of a process in ms, from /proc: its own, and that of its reaped children. */
export function cpuTimes(pid: number): { self: number; children: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      self: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS,
      children: ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS,
    };
  } catch {
    return { self: 0, children: 0 };
  }
}

/** CPU time of a process and its reaped children (codex's login shells and commands), in ms. */
export function treeCpuMs(pids: number[]): number {
  return pids.reduce((n, pid) => {
    const t = cpuTimes(pid);
    return n + t.self + t.children;
  }, 0);
}

/** Resident set size of a process in MB. */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** PIDs of live processes whose environment contains `marker` (the codex children of one run). */
export function pidsWithEnv(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      if (state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

/**
 * Memory a process holds for itself alone, in MB (private pages, from smaps_rollup): its RSS less the
 * pages it shares, such as the codex binary's, which every codex process maps and the machine holds once.
 */
export function privateMb(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
    return (kb('Private_Clean') + kb('Private_Dirty')) / 1024;
  } catch {
    return 0;
  }
}

export function sumPrivateMb(pids: number[]): number {
  return pids.reduce((n, pid) => n + privateMb(pid), 0);
}

export function sumRssMb(pids: number[]): number {
  return pids.reduce((n, pid) => n + rssMb(pid), 0);
}

/**
 * CPU time of the whole machine so far (all CPUs), in USER_HZ ticks (from /proc/stat): busy (this
 * machine's own work), stolen (time the hypervisor gave to other guests while this one had work), total.
 */
export function machineTicks(): { busy: number; steal: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
  const n = fields.map(Number);
  const idle = n[3] + (n[4] ?? 0);
  const steal = n[7] ?? 0;
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle - steal, steal, total };
}

/**
 * Waits until the machine is quiet (under `threshold` of its CPUs busy in `windows` 50 ms windows in a
 * row), at most `maxMs`: codex finishes work of its own after a burst of new threads or turns (state
 * writes; login shells too when the shell snapshot is on), in spurts a single quiet window can fall
 * between, and it would otherwise be charged to whatever is measured next.
 */
export async function quiesce(threshold = 0.15, maxMs = 3000, windows = 3): Promise<number> {
  const started = performance.now();
  let last = machineTicks();
  let quiet = 0;
  while (performance.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, 50));
    const now = machineTicks();
    const busy = (now.busy - last.busy) / Math.max(1, now.total - last.total);
    last = now;
    quiet = busy < threshold ? quiet + 1 : 0;
    if (quiet >= windows) break;
  }
  return performance.now() - started;
}

/** Busy and stolen CPU time of the whole machine so far, in ms. */
export function machineMs(): { busy: number; steal: number } {
  const t = machineTicks();
  return { busy: (t.busy * 1000) / TICKS, steal: (t.steal * 1000) / TICKS };
}

/**
 * The order of the surfaces in a round: shuffled, the same in every run. With the order only rotating,
 * every surface always ran right after the same other one, and whatever that one leaves behind (the
 * transport's work in the bench process, codex finishing its state writes) weighed on it alone.
 */
export function roundOrder(count: number, round: number): number[] {
  let seed = 0x9e3779b9 * (round + 1);
  // mulberry32
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * How many rounds over all surfaces a configuration runs: at least `minRounds`; then another while it
 * still fits in `budgetSeconds` of rounds (judged by the rounds so far), up to `maxRounds`. A host at half
 * the speed (where a turn costs codex twice the CPU) then takes about as long as a fast one, and a fast
 * one gets the more rounds, so the more precise ratios.
 */
export interface RoundBudget {
  minRounds: number;
  maxRounds: number;
  budgetSeconds: number;
}

/** Whether one more round runs, given how long each so far took (seconds). */
export function anotherRound(budget: RoundBudget, roundSeconds: number[]): boolean {
  const done = roundSeconds.length;
  if (done < budget.minRounds) return true;
  if (done >= budget.maxRounds) return false;
  // The next one as long as the longer of the last two (rounds with and without stateless surfaces may alternate).
  const next = Math.max(...roundSeconds.slice(-2));
  return roundSeconds.reduce((a, b) => a + b, 0) + next <= budget.budgetSeconds;
}
