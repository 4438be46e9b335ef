/**
 * npm run bench:corunner [-- --pairs N] [--busy MS] [--concurrency N]
 *
 * What any second process costs the direct limit at concurrency 32 on this machine: one app-server runs
 * batches of two turns per worker, alternately alone and beside a process that does nothing useful but
 * keeps a CPU busy for `--busy` ms of every 10 ms (1.2 by default: about the CPU the gateway spends per
 * turn at this load). Prints the medians of each mode and the paired ratio (beside / alone) of the
 * throughput, so the gateway's ratio to the limit can be read against it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfflineProvider } from '@app/offline-provider';
import { DirectAppServer } from './direct-client';
import { cpuTimes, quiesce, treeCpuMs } from './stats';
import { median } from './targets';

const BUSY_LOOP = `
const busy = Number(process.argv[1]);
let x = 1;
setInterval(() => {
  const end = performance.now() + busy;
  while (performance.now() < end) for (let k = 0; k < 1000; k++) x = (x * 1103515245 + 12345) % 2147483647;
}, 10);
process.stdin.on('end', () => process.exit(0)).resume();
`;

function parseArgs(argv: string[]) {
  const o = { pairs: 8, busy: 1.2, concurrency: 32 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--pairs') o.pairs = Number(argv[++i]);
    else if (a === '--busy') o.busy = Number(argv[++i]);
    else if (a === '--concurrency') o.concurrency = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'codex-gateway-corunner-'));
  const provider = new OfflineProvider();
  await provider.start();
  let server: DirectAppServer | null = null;
  let corunner: ChildProcess | null = null;
  try {
    const shellHome = join(work, 'home');
    const workspace = join(work, 'workspace');
    mkdirSync(shellHome);
    mkdirSync(workspace);
    const direct = DirectAppServer.create({
      codexHome: join(work, 'codex-home'),
      shellHome,
      workspace,
      providerBaseUrl: provider.baseUrl,
    });
    server = direct;
    await direct.initialize();
    const prompt = '[[words: 60]] [[deltas: 20]] [[delay: 2]] bench';
    const threads = await Promise.all(Array.from({ length: o.concurrency }, () => direct.startThread(workspace)));
    await Promise.all(threads.map((t) => direct.runTurn(t, prompt)));

    type Batch = { tps: number; codexMs: number; corunnerMs: number };
    const results: Record<'alone' | 'beside', Batch[]> = { alone: [], beside: [] };
    for (let pair = 0; pair < o.pairs; pair++) {
      for (const mode of pair % 2 ? (['beside', 'alone'] as const) : (['alone', 'beside'] as const)) {
        if (mode === 'beside') {
          corunner = spawn(process.execPath, ['-e', BUSY_LOOP, String(o.busy)], {
            stdio: ['pipe', 'ignore', 'inherit'],
          });
          await new Promise((r) => setTimeout(r, 500));
        }
        await quiesce(0.3);
        const turns = threads.length * 2;
        const codexBefore = treeCpuMs([direct.pid]);
        const corunnerBefore = corunner ? cpuTimes(corunner.pid!).self : 0;
        const started = performance.now();
        await Promise.all(
          threads.map(async (t) => {
            for (let i = 0; i < 2; i++) await direct.runTurn(t, prompt);
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        results[mode].push({
          tps: turns / seconds,
          codexMs: (treeCpuMs([direct.pid]) - codexBefore) / turns,
          corunnerMs: corunner ? (cpuTimes(corunner.pid!).self - corunnerBefore) / turns : 0,
        });
        if (corunner) {
          const exited = new Promise((r) => corunner!.once('exit', r));
          corunner.stdin!.end();
          await exited;
          corunner = null;
        }
      }
    }
    for (const mode of ['alone', 'beside'] as const) {
      const r = results[mode];
      process.stdout.write(
        `${mode === 'alone' ? 'limit alone      ' : 'beside a co-runner'}: ${median(r.map((x) => x.tps)).toFixed(1)} turns/s, codex ${median(r.map((x) => x.codexMs)).toFixed(1)} ms CPU a turn` +
          (mode === 'beside' ? `, co-runner ${median(r.map((x) => x.corunnerMs)).toFixed(1)} ms CPU a turn` : '') +
          '\n',
      );
    }
    const ratios = results.beside.map((x, i) => x.tps / results.alone[i].tps);
    process.stdout.write(
      `throughput beside a co-runner ÷ alone, over ${o.pairs} pairs at concurrency ${o.concurrency}: median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})\n`,
    );
  } finally {
    corunner?.kill('SIGKILL');
    await server?.stop();
    await provider.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:corunner failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
