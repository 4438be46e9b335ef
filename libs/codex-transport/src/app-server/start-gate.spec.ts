import { StartGate } from './start-gate';

/** A start that ends when told to. */
function controlled() {
  let finish!: (ok: boolean) => void;
  const done = new Promise<string>(
    (resolve, reject) => (finish = (ok) => (ok ? resolve('ok') : reject(new Error('failed')))),
  );
  return { done, finish };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('StartGate', () => {
  it('lets `limit` starts run at once and the rest in arrival order, each as a slot frees', async () => {
    const gate = new StartGate(2);
    const starts = [controlled(), controlled(), controlled(), controlled()];
    const began: number[] = [];
    const results = starts.map((s, i) =>
      gate.run(() => {
        began.push(i);
        return s.done;
      }),
    );
    await tick();
    expect(began).toEqual([0, 1]);
    expect(gate.queued).toBe(2);
    starts[1].finish(true);
    await tick();
    expect(began).toEqual([0, 1, 2]);
    // A failed start frees its slot too, and its caller gets the failure.
    starts[0].finish(false);
    await expect(results[0]).rejects.toThrow('failed');
    await tick();
    expect(began).toEqual([0, 1, 2, 3]);
    starts[2].finish(true);
    starts[3].finish(true);
    await expect(Promise.all(results.slice(1))).resolves.toEqual(['ok', 'ok', 'ok']);
    expect(gate.queued).toBe(0);
    // Every slot is free again: two more run at once.
    const again = [controlled(), controlled()];
    const ran: number[] = [];
    const more = again.map((s, i) => gate.run(() => (ran.push(i), s.done)));
    await tick();
    expect(ran).toEqual([0, 1]);
    again.forEach((s) => s.finish(true));
    await Promise.all(more);
  });

  it('refuses a limit below one', () => {
    expect(() => new StartGate(0)).toThrow(RangeError);
  });
});
