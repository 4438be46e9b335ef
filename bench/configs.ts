/** The benchmark's command line and the configurations it runs (concurrency, tenants, rounds). */
import { join, resolve } from 'node:path';
import { ROOT } from './gateway-process';
import { type RoundBudget } from './stats';

export interface Options {
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
  /** Also the scale parts: new tenants one after another (their first request, their codex's memory), many open streams. */
  scale: boolean;
  /** The open streams of the scale part, a step each: tenants × turns (`--streams 5x10,50x10`; null: those). */
  streams: Array<{ tenants: number; perTenant: number }> | null;
  /**
   * The Node the gateway runs on: `image` (the container image's major, installed on demand; the default:
   * the benchmark measures what ships), `current` (the one running the benchmark) or a path to a binary.
   */
  node: string;
}

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    configs: null,
    rounds: null,
    only: null,
    deltas: 20,
    words: 60,
    delay: 2,
    out: join(ROOT, 'bench/results'),
    scale: false,
    streams: null,
    node: 'image',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--scale') o.scale = true;
    else if (a === '--deltas') o.deltas = Number(argv[++i]);
    else if (a === '--words') o.words = Number(argv[++i]);
    else if (a === '--delay') o.delay = Number(argv[++i]);
    else if (a === '--out') o.out = resolve(argv[++i]);
    else if (a === '--configs') o.configs = argv[++i].split(',');
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--only') o.only = new RegExp(argv[++i], 'i');
    else if (a === '--node') {
      o.node = argv[++i] ?? '';
      if (!o.node) throw new Error('--node takes image, current or the path of a node binary');
    } else if (a === '--streams') {
      o.streams = (argv[++i] ?? '').split(',').map((step) => {
        const m = /^(\d+)x(\d+)$/.exec(step);
        if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
          throw new Error('--streams takes TENANTSxTURNS steps, e.g. 5x10,50x10');
        return { tenants: Number(m[1]), perTenant: Number(m[2]) };
      });
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/** A configuration, and how many rounds over all surfaces it runs (see RoundBudget). */
export interface Config extends RoundBudget {
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
  /**
   * Turns per worker run once before the rounds and not counted (besides each new worker's first turn): the
   * gateway's code then runs as V8 has optimized it after a while of service, not as it starts.
   */
  warmTurns?: number;
  key: string;
}

/**
 * Concurrency 8 comes first, after 6 uncounted turns per worker: they warm up the code of every surface (V8
 * optimizes a function after it has run a while: one REST turn after another, the gateway's CPU per turn
 * here was 18–22 ms over the first 40 turns and 7–10 ms after 200), so every configuration measures the gateway
 * as it runs after a while, not as it starts (cold start is timed apart).
 */
export const FULL_CONFIGS: Config[] = [
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
    warmTurns: 6,
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
export const QUICK_CONFIGS: Config[] = [
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
