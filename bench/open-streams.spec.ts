import { distribution } from './stats';
import { addedDelay, noteReads, openStreamsPrompt } from './open-streams';

describe('open streams', () => {
  it('counts each stamped delta once, with its delay, and says which piece held the first', () => {
    const r = { last: 0, reads: [] as Array<[number, number]>, firstDeltaAt: null as number | null };
    expect(noteReads(r, 'event: response.created\n\n', 1000)).toBe(false);
    expect(noteReads(r, 'data: {"delta":"~t1000.500~"}\n\ndata: {"delta":"~t1001.000~"}\n\n', 1002)).toBe(true);
    // A completion repeats the text so far, then a new delta: only the new one counts.
    expect(noteReads(r, '"text":"~t1000.500~~t1001.000~" data: {"delta":"~t1050.250~"}', 1052)).toBe(false);
    expect(r.reads).toEqual([
      [1002, 1.5],
      [1002, 1],
      [1052, 1.75],
    ]);
    expect(r.firstDeltaAt).toBe(1002);
  });

  it('takes what the gateway adds as its percentiles less the limit’s', () => {
    const limit = distribution([1, 1, 2, 2, 3, 3, 4, 4, 5, 20]);
    const gateway = distribution([2, 2, 3, 3, 4, 4, 5, 5, 6, 26]);
    expect(limit.max).toBe(20);
    expect(addedDelay({ delayMs: limit } as never, { delayMs: gateway } as never)).toEqual({ p50: 1, p99: 6, max: 6 });
  });

  it('asks for streams longer than the phase can last', () => {
    const prompt = openStreamsPrompt({ tenants: 50, perTenant: 10, deltaEveryMs: 50, holdSeconds: 20 });
    // 40 s to start 500 streams, 20 s held, 10 s to spare, a delta every 50 ms.
    expect(prompt).toBe('[[words: 1400]] [[deltas: 1400]] [[delay: 50]] [[stamp]] open stream');
  });
});
