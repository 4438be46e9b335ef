import { anotherRound, roundOrder } from './stats';
import { checkTargets, describeTargets, type Measured, ratioToLimit } from './targets';

const rounds = (tps: number[], ttft: number[], latency: number[]) =>
  tps.map((t, i) => ({ turnsPerSecond: t, ttftP50: ttft[i], latencyP50: latency[i] }));

function row(surface: string, concurrency: number, r: ReturnType<typeof rounds>, config = '1 tenant'): Measured {
  const mean = (pick: (x: (typeof r)[number]) => number) => r.reduce((n, x) => n + pick(x), 0) / r.length;
  return {
    surface,
    key: surface.toLowerCase(),
    config,
    concurrency,
    ttftMs: { p50: mean((x) => x.ttftP50) },
    latencyMs: { p50: mean((x) => x.latencyP50) },
    turnsPerSecond: mean((x) => x.turnsPerSecond),
    rounds: r,
  };
}

describe('ratioToLimit', () => {
  it('takes the median over rounds of the ratio within each round', () => {
    const limit = row('limit', 32, rounds([20, 30, 25], [100, 100, 100], [1000, 1000, 1000]));
    const surface = row('REST', 32, rounds([19, 24, 25], [110, 90, 100], [1000, 1200, 900]));
    const ratio = ratioToLimit(surface, limit);
    expect(ratio.throughput).toBeCloseTo(0.95); // of 0.95, 0.80, 1.00
    expect(ratio.ttftP50).toBeCloseTo(1.0);
    expect(ratio.latencyP50).toBeCloseTo(1.0);
    expect(ratio.rounds?.map((r) => Number(r.throughput.toFixed(2)))).toEqual([0.95, 0.8, 1]);
  });

  it('compares pooled figures when the two did not run the same rounds', () => {
    const limit = row('limit', 1, rounds([10, 10], [40, 44], [100, 100]));
    const exec = row('exec', 1, rounds([4], [200], [250]));
    const ratio = ratioToLimit(exec, limit);
    expect(ratio).toEqual({ ttftP50: 200 / 42, latencyP50: 2.5, throughput: 0.4 });
  });
});

describe('checkTargets', () => {
  const limit1 = row('limit', 1, rounds([10, 10], [40, 40], [100, 100]));
  const limit32 = row('limit', 32, rounds([25, 25], [900, 900], [1400, 1400]));
  const http = new Set(['REST', 'H2']);
  const limitOf = (r: Measured) => (r.concurrency === 1 ? limit1 : limit32);

  it('allows 1.05× in TTFT and latency at concurrency 1 and 32, and asks 0.95 of the throughput at 32', () => {
    const rows = [
      limit1,
      limit32,
      row('REST', 1, rounds([10, 10], [41.6, 41.6], [106, 106])), // TTFT 1.04, latency 1.06
      row('H2', 1, rounds([10, 10], [45, 45], [100, 100])), // TTFT 1.125
      row('REST', 32, rounds([24, 24.5], [900, 900], [1400, 1500])), // throughput 0.96–0.98, latency 1.00–1.07
      row('H2', 32, rounds([22.5, 23.5], [990, 990], [1400, 1400])), // throughput 0.90–0.94, TTFT 1.10
      row('transport', 32, rounds([1, 1], [900, 900], [1400, 1400])), // not an HTTP surface: no target
    ];
    for (const r of rows) r.ratio = ratioToLimit(r, limitOf(r));
    const checks = checkTargets(rows, http, limitOf);
    const verdict = (target: string, key: string) => checks.find((c) => c.target === target && c.key === key);
    expect(checks).toHaveLength(10);
    expect(verdict('TTFT p50 at concurrency 1', 'rest')).toMatchObject({ met: true, bound: 1.05 });
    expect(verdict('latency p50 at concurrency 1', 'rest')?.met).toBe(false);
    expect(verdict('TTFT p50 at concurrency 1', 'h2')).toMatchObject({ met: false, value: 1.125 });
    expect(verdict('TTFT p50 at concurrency 32', 'h2')?.met).toBe(false);
    expect(verdict('latency p50 at concurrency 32', 'rest')).toMatchObject({ met: true, spread: [1, 1500 / 1400] });
    expect(verdict('throughput at concurrency 32', 'rest')).toMatchObject({ met: true, spread: [0.96, 0.98] });
    expect(verdict('throughput at concurrency 32', 'h2')).toMatchObject({ met: false, spread: [0.9, 0.94] });

    const text = describeTargets(checks);
    expect(text).toContain(
      'TTFT p50 at concurrency 1, ≤ 1.05×: met by 1 of 2: rest 1.04, h2 1.13 MISSED (rounds 1.13–1.13)',
    );
    expect(text).toContain(
      'throughput at concurrency 32, ≥ 0.95×: met by 1 of 2: rest 0.97, h2 0.92 MISSED (rounds 0.90–0.94)',
    );
  });

  it('holds the gateway to 4 ms of CPU per turn on every surface, and not a limit without a process of its own', () => {
    const rest = { ...row('REST', 8, rounds([12, 12], [500, 500], [600, 600])), gatewayCpuMsPerTurn: 3.9 };
    const h2 = { ...row('H2', 8, rounds([12, 12], [500, 500], [600, 600])), gatewayCpuMsPerTurn: 6.25 };
    const limit8 = { ...row('limit', 8, rounds([12, 12], [500, 500], [600, 600])), gatewayCpuMsPerTurn: null };
    for (const r of [rest, h2, limit8]) r.ratio = ratioToLimit(r, limit8);
    const checks = checkTargets([rest, h2, limit8], new Set(['REST', 'H2', 'limit']), () => limit8);
    expect(checks.map((c) => [c.target, c.key, c.met])).toEqual([
      ['gateway CPU per turn', 'rest', true],
      ['gateway CPU per turn', 'h2', false],
    ]);
    expect(describeTargets(checks)).toBe('gateway CPU per turn, ≤ 4 ms: met by 1 of 2: rest 3.9 ms, h2 6.3 ms MISSED');
  });
});

describe('the stateless target', () => {
  it('holds a new conversation per request to 1.05× of the TTFT of a turn on an existing thread, at every concurrency', () => {
    const limit1 = row('limit', 1, rounds([10, 10], [40, 40], [100, 100]));
    const limit8 = row('limit', 8, rounds([12, 12], [500, 500], [600, 600]));
    const limitOf = (r: Measured) => (r.concurrency === 1 ? limit1 : limit8);
    const rows = [
      row('Completions', 1, rounds([10, 10], [41.6, 41.6], [100, 100])), // 1.04
      row('Completions', 8, rounds([12, 12], [540, 540], [600, 600])), // 1.08
      row('REST', 8, rounds([12, 12], [540, 540], [600, 600])), // not stateless: no such check
    ];
    for (const r of rows) r.ratio = ratioToLimit(r, limitOf(r));
    const checks = checkTargets(rows, new Set(['Completions', 'REST']), limitOf, new Set(['Completions']));
    // In place of the TTFT target at concurrency 1 (the same ratio); the latency target stays.
    expect(checks.map((c) => c.target)).toEqual([
      'latency p50 at concurrency 1',
      'stateless TTFT p50 against a turn on an existing thread',
      'stateless TTFT p50 against a turn on an existing thread',
    ]);
    const statelessChecks = checks.filter((c) => c.target.startsWith('stateless'));
    expect(statelessChecks.map((c) => [c.config, c.met, c.bound])).toEqual([
      ['1 tenant × 1', true, 1.05],
      ['1 tenant × 8', false, 1.05],
    ]);
    expect(describeTargets(statelessChecks)).toBe(
      'stateless TTFT p50 against a turn on an existing thread, ≤ 1.05×: met by 1 of 2: ' +
        'completions (1 tenant × 1) 1.04, completions (1 tenant × 8) 1.08 MISSED (rounds 1.08–1.08)',
    );
  });
});

describe('roundOrder', () => {
  it('is a permutation, the same in every run', () => {
    for (let round = 0; round < 8; round++) {
      const order = roundOrder(8, round);
      expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(roundOrder(8, round)).toEqual(order);
    }
  });

  it('does not put any surface after the same one in every round', () => {
    for (const count of [3, 8]) {
      const before = new Map<number, Set<number>>();
      let last = -1;
      for (let round = 0; round < 3; round++) {
        for (const i of roundOrder(count, round)) {
          if (!before.has(i)) before.set(i, new Set());
          before.get(i)!.add(last);
          last = i;
        }
      }
      for (const [, predecessors] of before) expect(predecessors.size).toBeGreaterThan(1);
    }
  });
});

describe('anotherRound', () => {
  const budget = { minRounds: 2, maxRounds: 5, budgetSeconds: 60 };

  it('always runs the minimum, however long the rounds take', () => {
    expect(anotherRound(budget, [])).toBe(true);
    expect(anotherRound(budget, [100])).toBe(true);
    expect(anotherRound(budget, [100, 100])).toBe(false);
  });

  it('adds rounds while the next one (as long as the longer of the last two) fits in the budget', () => {
    expect(anotherRound(budget, [15, 15])).toBe(true); // 30 + 15 <= 60
    expect(anotherRound(budget, [15, 15, 15])).toBe(true); // 45 + 15 <= 60
    expect(anotherRound(budget, [15, 15, 15, 15])).toBe(false); // 60 + 15 > 60
    expect(anotherRound(budget, [10, 20, 10])).toBe(true); // 40 + 20 <= 60
    expect(anotherRound(budget, [10, 20, 10, 20])).toBe(false); // 60 + 20 > 60
  });

  it('stops at the maximum', () => {
    expect(anotherRound({ ...budget, budgetSeconds: 1000 }, [1, 1, 1, 1])).toBe(true);
    expect(anotherRound({ ...budget, budgetSeconds: 1000 }, [1, 1, 1, 1, 1])).toBe(false);
  });

  it('with a minimum equal to the maximum runs exactly that many', () => {
    const fixed = { minRounds: 3, maxRounds: 3, budgetSeconds: 0 };
    expect([0, 1, 2, 3].map((n) => anotherRound(fixed, Array(n).fill(5)))).toEqual([true, true, true, false]);
  });
});
