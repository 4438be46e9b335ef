/**
 * npm run bench:profile [-- --surface rest|completions|responses|chat|h2] [--warm N] [--turns N] [--deltas N]
 *   [--delay MS] [--node image|current|PATH]
 *
 * Where the gateway's CPU per turn goes: one production gateway on the offline provider, run with V8's
 * sampling profiler; `--warm` turns one after another (not counted: V8 optimizes as the code runs a while),
 * then `--turns` more, whose samples are split by part (see cpu-split.ts) and printed as milliseconds per
 * turn of the gateway's main thread. The profiler costs CPU of its own (left out of the split, not of the
 * process): the gateway's CPU per turn is what `npm run bench` measures.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfflineProvider } from '@app/offline-provider';
import { type CpuProfile, cpuSplit } from './cpu-split';
import { resolveGatewayNode } from './image-node';
import { setGatewayNode, startGateway, stopGateway } from './gateway-process';
import { log } from './measure';
import {
  agentStreamSurface,
  chatCompletionsSurface,
  chatSurface,
  responsesSurface,
  restSurface,
  type Surface,
} from './surfaces';

const SURFACES = {
  rest: restSurface,
  completions: (url: string) => chatCompletionsSurface(url),
  responses: responsesSurface,
  chat: chatSurface,
  h2: agentStreamSurface,
} as const;

function parse(argv: string[]) {
  const o = { surface: 'rest' as keyof typeof SURFACES, warm: 300, turns: 200, deltas: 20, delay: 2, node: 'image' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[++i]];
    if (flag === '--surface' && value in SURFACES) o.surface = value as keyof typeof SURFACES;
    else if (flag === '--node' && value) o.node = value;
    else if (['--warm', '--turns', '--deltas', '--delay'].includes(flag) && Number(value) >= 0)
      o[flag.slice(2) as 'warm' | 'turns' | 'deltas' | 'delay'] = Number(value);
    else
      throw new Error(
        `unknown or invalid argument ${flag} ${value ?? ''} (surfaces: ${Object.keys(SURFACES).join(', ')})`,
      );
  }
  if (o.turns < 1 || o.deltas < 1) throw new Error('--turns and --deltas must be at least 1');
  return o;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const node = await resolveGatewayNode(o.node);
  setGatewayNode(node.path);
  const work = mkdtempSync(join(tmpdir(), 'codex-gateway-profile-'));
  const profiles = join(work, 'profiles');
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  const provider = new OfflineProvider();
  await provider.start();
  const prompt = `[[words: ${o.deltas * 3}]] [[deltas: ${o.deltas}]] [[delay: ${o.delay}]] profile`;
  const gw = await startGateway(join(work, 'gateway'), provider.baseUrl, home, {}, [
    '--cpu-prof',
    `--cpu-prof-dir=${profiles}`,
    '--cpu-prof-interval=1000',
  ]);
  const surface: Surface & { close?(): void } = SURFACES[o.surface](o.surface === 'h2' ? gw.h2Url : gw.url);
  try {
    let from: number;
    let to: number;
    try {
      log(`profile: ${surface.name}, gateway on Node ${node.version}, prompt ${JSON.stringify(prompt)}`);
      const worker = await surface.prepare(`${surface.tenants}-0`);
      for (let i = 0; i < o.warm; i++) await surface.turn(worker, prompt);
      from = nowUs();
      for (let i = 0; i < o.turns; i++) await surface.turn(worker, prompt);
      to = nowUs();
    } finally {
      // The gateway writes its profile as it exits.
      surface.close?.();
      await stopGateway(gw);
      await provider.stop();
    }
    const file = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the gateway wrote no profile');
    const split = [...cpuSplit(JSON.parse(readFileSync(join(profiles, file), 'utf8')) as CpuProfile, from, to)];
    const total = split.reduce((sum, [, ms]) => sum + ms, 0);
    process.stdout.write(
      `${surface.name}: ${o.turns} turns after ${o.warm} uncounted, ${o.deltas} deltas each; ` +
        `the gateway's main thread ran ${(total / o.turns).toFixed(2)} ms per turn, of which:\n`,
    );
    for (const [part, ms] of split.sort((a, b) => b[1] - a[1])) {
      process.stdout.write(
        `  ${(ms / o.turns).toFixed(2).padStart(6)} ms  ${((ms / total) * 100).toFixed(0).padStart(3)}%  ${part}\n`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log(`profile failed: ${(error as Error)?.stack ?? String(error)}`);
  process.exit(1);
});
