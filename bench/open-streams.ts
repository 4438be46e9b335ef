/**
 * Many open streams (`--scale`): tenants × turns at once whose model streams slowly, every delta stamped by
 * the offline provider with the moment it was sent (`[[stamp]]`); every reader notes when it read each one.
 * The limit reads the same streams straight from one app-server per tenant; the gateway serves them on its
 * four streaming protocols, mixed (REST SSE, Chat Completions, Responses, the HTTP/2 agent stream). The
 * delay the gateway adds is the difference of the two: the rest (the provider, codex, the reader) is in both.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { readStamps } from '@app/offline-provider';
import type { DirectAppServers } from './direct-client';
import type { GatewayProcess } from './gateway-process';
import { cpuTimes, distribution, type Distribution, machineMs, pidsWithEnv, rssMb, sumRssMb, treeCpuMs } from './stats';
import {
  agentStreamSurface,
  chatCompletionsSurface,
  directSurface,
  resetConnections,
  responsesSurface,
  restSurface,
  type Surface,
} from './surfaces';

export interface OpenStreamsOptions {
  tenants: number;
  perTenant: number;
  /** Between two deltas of a stream. */
  deltaEveryMs: number;
  /** How long every stream is open at once (each streams for this plus the time all of them take to start). */
  holdSeconds: number;
}

/**
 * The steps: a count this machine carries (its 2 cores: about 100 such streams), then the 500 (which
 * it does not: the report says what runs out).
 */
export const OPEN_STREAMS: OpenStreamsOptions[] = [
  { tenants: 5, perTenant: 10, deltaEveryMs: 50, holdSeconds: 20 },
  { tenants: 50, perTenant: 10, deltaEveryMs: 50, holdSeconds: 20 },
];

/** Target: the delay the gateway adds to a delta, p99, with every stream open. */
export const ADDED_DELAY_P99_MS = 5;

export interface StreamsPhase {
  streams: number;
  /** Streams that failed (a 4xx/5xx answer, an error frame, a cut). */
  errors: number;
  /** Streams that had streamed a delta when the hold began (all of them, unless they took too long to start). */
  open: number;
  /** First request → the hold (every stream's first delta, or the time allowed for that). */
  startSeconds: number;
  /** The hold: how long, and each delta's delay from the provider's stamp to its reader meanwhile. */
  holdSeconds: number;
  deltas: number;
  /** Of the deltas the provider sent to the streams during the hold, the share their readers got in it. */
  deliveredPercent: number;
  delayMs: Distribution;
  /** The same by surface (the gateway's protocols). */
  delayMsByKey: Record<string, Distribution>;
  /** CPU per open stream-second during the hold. */
  codexCpuMsPerStreamSecond: number;
  gatewayCpuMsPerStreamSecond: number | null;
  /** The machine's busy share of its cores meanwhile (100: every core busy). */
  machineBusyPercent: number;
  /** Resident memory per open stream when the hold began, less what it was before the first request. */
  gatewayRssKbPerStream: number | null;
  codexRssMbPerStream: number;
}

export interface OpenStreams {
  options: OpenStreamsOptions;
  direct: StreamsPhase;
  gateway: StreamsPhase;
  /** The gateway's delay less the limit's, at each percentile. */
  addedDelayMs: { p50: number; p99: number; max: number };
}

interface Reader {
  surface: Surface;
  worker: unknown;
  last: number;
  firstDeltaAt: number | null;
  /** [read at (ms since the epoch), delay] of each stamped delta, in order. */
  reads: Array<[number, number]>;
}

const now = () => performance.timeOrigin + performance.now();

/**
 * Runs every reader's turn at once and holds them `holdSeconds` from when all of them stream (or, when
 * they take longer than `startSeconds` to start, from then on with those that do); then `cut` ends what is
 * left (the readers go away) and what was measured during the hold is returned.
 */
async function hold(
  readers: Reader[],
  prompt: string,
  o: OpenStreamsOptions,
  startSeconds: number,
  sample: () => Sample,
  cut: () => unknown,
): Promise<StreamsPhase> {
  const before = sample();
  const began = now();
  let errors = 0;
  let cutting = false;
  let held: Mark | null = null;
  let opened = 0;
  let settled = 0;
  let firstEndAt = Infinity;
  let done!: () => void;
  const over = new Promise<void>((resolve) => (done = resolve));
  const startHold = () => {
    if (held) return;
    held = { at: now(), sample: sample(), machine: machineMs(), open: opened };
    clearTimeout(deadline);
    setTimeout(done, o.holdSeconds * 1000);
  };
  const deadline = setTimeout(startHold, startSeconds * 1000);
  const turns = readers.map(async (r) => {
    const onChunk = (text: string) => {
      if (noteReads(r, text, now()) && ++opened === readers.length) startHold();
    };
    try {
      await r.surface.turn(r.worker, prompt, onChunk);
    } catch {
      if (!cutting) errors++;
    }
    firstEndAt = Math.min(firstEndAt, now());
    if (++settled === readers.length) done();
  });
  await over;
  const end = { at: Math.min(now(), firstEndAt), sample: sample(), machine: machineMs(), open: opened };
  cutting = true;
  await cut();
  await Promise.race([Promise.all(turns), new Promise((r) => setTimeout(r, 10_000))]);

  const open = held as Mark | null;
  const seconds = open ? Math.max(0, (end.at - open.at) / 1000) : 0;
  const inWindow = (r: Reader) => (open ? r.reads.filter(([at]) => at >= open.at && at <= end.at) : []);
  const delays = readers.flatMap((r) => inWindow(r).map(([, d]) => d));
  // Streams that start during the hold count from the middle of it.
  const streaming = open ? (open.open + end.open) / 2 : 0;
  const perStreamSecond = (a: number | null | undefined, b: number | null | undefined) =>
    a == null || b == null || seconds === 0 || streaming === 0 ? NaN : (b - a) / (streaming * seconds);
  const perOpen = (a: number | null | undefined, b: number | null | undefined) =>
    a == null || b == null || !open?.open ? NaN : (b - a) / open.open;
  return {
    streams: readers.length,
    errors,
    open: open?.open ?? 0,
    startSeconds: open ? (open.at - began) / 1000 : NaN,
    holdSeconds: seconds,
    deltas: delays.length,
    deliveredPercent: seconds > 0 ? (delays.length / ((streaming * seconds * 1000) / o.deltaEveryMs)) * 100 : NaN,
    delayMs: distribution(delays),
    delayMsByKey: Object.fromEntries(
      [...new Set(readers.map((r) => r.surface.key))].map((key) => [
        key,
        distribution(readers.filter((r) => r.surface.key === key).flatMap((r) => inWindow(r).map(([, d]) => d))),
      ]),
    ),
    codexCpuMsPerStreamSecond: perStreamSecond(open?.sample.codexCpu, end.sample.codexCpu),
    gatewayCpuMsPerStreamSecond:
      before.gatewayCpu === null ? null : perStreamSecond(open?.sample.gatewayCpu, end.sample.gatewayCpu),
    machineBusyPercent:
      open && seconds > 0 ? (end.machine.busy - open.machine.busy) / (seconds * 10 * cpus().length) : NaN,
    gatewayRssKbPerStream:
      before.gatewayRss === null ? null : perOpen(before.gatewayRss, open?.sample.gatewayRss) * 1024,
    codexRssMbPerStream: perOpen(before.codexRss, open?.sample.codexRss),
  };
}

interface Mark {
  at: number;
  sample: Sample;
  machine: ReturnType<typeof machineMs>;
  open: number;
}

interface Sample {
  codexCpu: number;
  gatewayCpu: number | null;
  codexRss: number;
  gatewayRss: number | null;
}

/**
 * Notes the stamped deltas of a piece of a stream read at `at`: each new one with its delay. Later events
 * repeat the text so far (an item's completion, a response's), so only stamps past the last one count.
 * True when the piece held the stream's first delta.
 */
export function noteReads(r: Pick<Reader, 'last' | 'reads' | 'firstDeltaAt'>, text: string, at: number): boolean {
  let first = false;
  for (const stamp of readStamps(text)) {
    if (stamp <= r.last) continue;
    r.last = stamp;
    r.reads.push([at, at - stamp]);
    if (r.firstDeltaAt === null) {
      r.firstDeltaAt = at;
      first = true;
    }
  }
  return first;
}

const reader = (surface: Surface, worker: unknown): Reader => ({
  surface,
  worker,
  last: 0,
  firstDeltaAt: null,
  reads: [],
});

/** The prompt of a stream: a stamped delta every `deltaEveryMs`, for longer than the phase can last. */
export function openStreamsPrompt(o: OpenStreamsOptions): string {
  const deltas = Math.ceil(((startSecondsOf(o) + o.holdSeconds + 10) * 1000) / o.deltaEveryMs);
  return `[[words: ${deltas}]] [[deltas: ${deltas}]] [[delay: ${o.deltaEveryMs}]] [[stamp]] open stream`;
}

/** How long the streams may take to be all open: a turn's start costs codex ~0.1 s of CPU. */
const startSecondsOf = (o: OpenStreamsOptions) => Math.min(40, Math.max(10, o.tenants * o.perTenant * 0.12));

/** The limit: one app-server per tenant (`servers`, stopped at the end), each turn on a thread of its own. */
export async function directOpenStreams(o: OpenStreamsOptions, servers: DirectAppServers): Promise<StreamsPhase> {
  try {
    const surface = directSurface(servers.of, servers.workspace);
    const readers = await Promise.all(
      Array.from({ length: o.tenants * o.perTenant }, async (_, i) =>
        reader(surface, await surface.prepare(`open-${i % o.tenants}`)),
      ),
    );
    const sample = () => ({
      codexCpu: treeCpuMs(servers.pids()),
      gatewayCpu: null,
      codexRss: sumRssMb(servers.pids()),
      gatewayRss: null,
    });
    return await hold(readers, openStreamsPrompt(o), o, startSecondsOf(o), sample, () => servers.stop());
  } finally {
    await servers.stop();
  }
}

/**
 * The gateway: the same streams on its four streaming protocols, a quarter each (every tenant has some of
 * each); cut by the readers going away, as a client that leaves (the gateway interrupts those turns).
 */
export async function gatewayOpenStreams(o: OpenStreamsOptions, gw: GatewayProcess): Promise<StreamsPhase> {
  resetConnections();
  const shared = [restSurface(gw.url), chatCompletionsSurface(gw.url), responsesSurface(gw.url)];
  // An HTTP/2 connection per tenant, as each user's client has its own.
  const h2 = Array.from({ length: o.tenants }, () => agentStreamSurface(gw.h2Url));
  const cut = () => {
    resetConnections();
    for (const s of h2) s.close();
  };
  try {
    const readers = await Promise.all(
      Array.from({ length: o.tenants * o.perTenant }, async (_, i) => {
        const t = i % o.tenants;
        const k = Math.floor(i / o.tenants) % 4;
        const surface = k < 3 ? shared[k] : h2[t];
        return reader(surface, await surface.prepare(`open-${t}`));
      }),
    );
    const codexPids = () => pidsWithEnv(`${join(gw.dataDir, 'users', 'open')}-`);
    const sample = () => ({
      codexCpu: treeCpuMs(codexPids()),
      gatewayCpu: cpuTimes(gw.child.pid!).self,
      codexRss: sumRssMb(codexPids()),
      gatewayRss: rssMb(gw.child.pid!),
    });
    return await hold(readers, openStreamsPrompt(o), o, startSecondsOf(o), sample, cut);
  } finally {
    cut();
  }
}

/** The limit's phase, then the gateway's, and what the gateway adds. */
export function addedDelay(direct: StreamsPhase, gateway: StreamsPhase): OpenStreams['addedDelayMs'] {
  return {
    p50: gateway.delayMs.p50 - direct.delayMs.p50,
    p99: gateway.delayMs.p99 - direct.delayMs.p99,
    max: gateway.delayMs.max - direct.delayMs.max,
  };
}
