/**
 * At most `limit` codex starts (spawn and `initialize`) at once; the others wait their turn, in order. A
 * start costs codex about 0.4 s of CPU: fifty new tenants at once on two cores would share the CPU until
 * every one of them passed its handshake timeout, so they start a few at a time, each as fast as alone.
 */
export class StartGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('a start gate lets at least one start through');
  }

  /** How many starts are waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `start` when fewer than `limit` others are running; the slot is freed however it ends. */
  async run<T>(start: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over
    try {
      return await start();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
