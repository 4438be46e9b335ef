/**
 * Where the gateway's CPU goes: the samples of a V8 CPU profile (`node --cpu-prof`) taken within a time
 * window, each charged to the nearest frame of its stack that belongs to a known part (the leaf first, then
 * its callers), as milliseconds. A sample in Node's own JavaScript that a library called is the library's;
 * one in a syscall the write path made is the socket write's. (V8 runs JSON.parse inside its caller's
 * frame: parsing codex's lines is the transport's.)
 */

/** The parts of a `.cpuprofile` this reads. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string };
    children?: number[];
  }>;
  /** Microseconds, on the machine's monotonic clock (that of `process.hrtime`). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

type Rule = [part: string, matches: (fn: string, url: string) => boolean];

/** The parts, most specific first: a frame is charged to the first part that matches it. */
const RULES: Rule[] = [
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['native, not attributed by V8', (fn) => fn === '(program)'],
  [
    'socket and pipe writes (the syscalls)',
    (fn, url) => url === '' && ['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String'].includes(fn),
  ],
  ['logging', (_, url) => /gateway-logger|logger\.service/.test(url)],
  ['metrics', (_, url) => /prom-client|\/metrics\//.test(url)],
  ['helmet', (_, url) => url.includes('/helmet/')],
  [
    'validation (class-validator, class-transformer)',
    (_, url) => /class-validator|class-transformer|validation/.test(url),
  ],
  ['rxjs', (_, url) => url.includes('/rxjs/')],
  [
    'Express (router, body parsers)',
    (_, url) => /\/node_modules\/(express|router|body-parser|raw-body|qs|send|on-finished)\//.test(url),
  ],
  ['Nest core', (_, url) => url.includes('/@nestjs/')],
  ['codex transport (JSON-RPC, turns, sessions)', (_, url) => url.includes('/libs/codex-transport/')],
  ["the gateway's protocol code (controllers, SSE, HTTP/2)", (_, url) => url.includes('/apps/gateway/')],
  ["Node's HTTP", (_, url) => url.startsWith('node:_http')],
  ["Node's streams, events, timers, sockets", (_, url) => url.startsWith('node:')],
];

const NODE_PARTS = ["Node's HTTP", "Node's streams, events, timers, sockets"];

/** Milliseconds by part for the samples taken in [fromUs, toUs] (monotonic µs), idle samples left out. */
export function cpuSplit(profile: CpuProfile, fromUs: number, toUs: number): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const partOf = new Map<number, string>();
  const part = (id: number): string => {
    const known = partOf.get(id);
    if (known !== undefined) return known;
    const { functionName, url } = byId.get(id)!.callFrame;
    const rule = RULES.find(([, matches]) => matches(functionName, url));
    const up = parent.get(id);
    const above = up === undefined ? 'other' : part(up);
    // Node's own code is charged to the library or gateway code that called it, if any.
    const found = !rule
      ? above
      : NODE_PARTS.includes(rule[0]) && !['other', ...NODE_PARTS].includes(above)
        ? above
        : rule[0];
    partOf.set(id, found);
    return found;
  };
  const split = new Map<string, number>();
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    // A sample's delta is the time since the previous one: it stands for that stretch.
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (at < fromUs || at > toUs || byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const name = part(id);
    split.set(name, (split.get(name) ?? 0) + us / 1000);
  }
  return split;
}
