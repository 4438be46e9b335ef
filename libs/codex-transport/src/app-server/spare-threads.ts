import type { ThreadSession } from '../types';

/** At most this many spare threads per pool (the default CODEX_MAX_CONCURRENCY). */
export const MAX_SPARES = 4;

interface Spare {
  session: ThreadSession;
  /** The process generation it was started in (a spare dies with its process). */
  generation: number;
}

/** What a pool needs of its session. */
export interface SpareHost {
  readonly generation: number;
  readonly closed: boolean;
  /** Starts a thread with the pool's settings. */
  start(): Promise<ThreadSession>;
  /** Whether the thread is loaded in the current process. */
  isLoaded(threadId: string): boolean;
  /** Unloads a thread nobody took. */
  release(threadId: string): Promise<void>;
  /**
   * Calls `then` once the taken thread's first turn is under way (its model answering, or the turn over),
   * or a moment after the take when no turn starts on it.
   */
  afterTurnStarts(threadId: string, then: () => void): void;
}

/**
 * Threads started ahead with one set of default settings, for requests that start a conversation: a take
 * gets a ready (or still starting) spare when there is one, else starts its own; either way the pool is
 * topped up in the background — one more spare each time a request found none, up to {@link MAX_SPARES}
 * (as many as the tenant's such requests run at once) — so those requests do not wait for codex's
 * `thread/start`. The top-up waits until the taken thread's turn is under way: a `thread/start` sent with
 * the `turn/start` competes with it for codex (its first delta ~3 ms later, 6%, here), while once the
 * model answers codex mostly waits on it. A pool nobody took from for `idleMs` is emptied (the threads
 * unloaded from codex).
 */
export class SpareThreads {
  private spares: Array<Promise<Spare | null>> = [];
  private wanted = 1;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: SpareHost,
    private readonly idleMs: number,
  ) {}

  get count(): number {
    return this.spares.length;
  }

  async take(): Promise<ThreadSession> {
    // Spares are kept since an earlier request (a first request has none to find).
    const kept = this.timer !== null;
    const spare = this.spares.shift();
    const ready = spare ? await spare : null;
    const usable = ready && ready.generation === this.host.generation && this.host.isLoaded(ready.session.thread.id);
    if (!usable && kept) this.wanted = Math.min(this.wanted + 1, MAX_SPARES);
    const session = usable ? ready.session : await this.host.start();
    this.host.afterTurnStarts(session.thread.id, () => this.topUp());
    return session;
  }

  /** The id of the next spare once it has started (null when there is none). */
  async nextId(): Promise<string | null> {
    return (await this.spares[0])?.session.thread.id ?? null;
  }

  /** Forgets every spare (the session is closing: its process takes them along). */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.spares = [];
  }

  private topUp(): void {
    if (this.host.closed) return;
    while (this.spares.length < this.wanted) {
      const generation = this.host.generation;
      this.spares.push(
        this.host.start().then(
          (session) => ({ session, generation }),
          () => null,
        ),
      );
    }
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.drop(), this.idleMs);
      this.timer.unref();
    }
  }

  /** Unloads the spares (an idle tenant keeps none); the next take starts its thread and the pool anew. */
  private drop(): void {
    const spares = this.spares;
    this.clear();
    this.wanted = 1;
    for (const spare of spares) {
      void spare.then((ready) => {
        if (ready && ready.generation === this.host.generation) return this.host.release(ready.session.thread.id);
      });
    }
  }
}
