import { type CpuProfile, cpuSplit } from './cpu-split';

const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url },
  children,
});

/** root → Node's stream read → the transport → Node's events; Express → Node's HTTP; an HTTP write → writev; idle; GC. */
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', [2, 5, 6, 7, 9]),
    frame(2, 'onStreamRead', 'node:internal/stream_base_commons', [3]),
    frame(3, 'handleLine', 'file:///app/dist/libs/codex-transport/src/app-server/json-rpc-connection.js', [4]),
    frame(4, 'emit', 'node:events'),
    frame(5, '(idle)', ''),
    frame(6, '(garbage collector)', ''),
    frame(7, 'handle', 'file:///app/node_modules/express/lib/application.js', [8]),
    frame(8, 'setHeader', 'node:_http_outgoing'),
    frame(9, 'connectionCorkNT', 'node:_http_outgoing', [10]),
    frame(10, 'writev', ''),
  ],
  startTime: 1_000_000,
  // One sample a millisecond, from 1 001 000 µs on.
  samples: [2, 3, 4, 5, 6, 8, 10, 10, 3, 3],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('cpuSplit', () => {
  it('charges each sample to the nearest known part of its stack, Node’s own code to the library that called it', () => {
    const split = cpuSplit(profile, 0, Number.MAX_SAFE_INTEGER);
    expect(Object.fromEntries(split)).toEqual({
      "Node's streams, events, timers, sockets": 1, // onStreamRead, called by no library
      'codex transport (JSON-RPC, turns, sessions)': 4, // handleLine ×3, and the events it emitted
      'garbage collection': 1,
      'Express (router, body parsers)': 1, // the header Express set
      'socket and pipe writes (the syscalls)': 2,
    });
    // Idle time is nobody's.
    expect([...split.values()].reduce((a, b) => a + b, 0)).toBe(9);
  });

  it('counts only the samples taken within the window', () => {
    // The 7th and 8th samples (the writes) are at 1 007 000 and 1 008 000 µs.
    expect(Object.fromEntries(cpuSplit(profile, 1_007_000, 1_008_000))).toEqual({
      'socket and pipe writes (the syscalls)': 2,
    });
  });
});
