import { Injectable } from '@nestjs/common';
import { AppServerTransport, CodexErrorCode, type DynamicTool, isCodexTransportError } from '@app/codex-transport';
import { BoundedMap } from '../../common/bounded-map';
import { notFound } from '../../common/errors/gateway-error';

/** Stored response threads kept loaded per tenant; older ones are unloaded (a continuation resumes them). */
const MAX_LOADED_THREADS = 64;

/** Threads whose newest turn, and responses whose place, are remembered (older ones are looked up again). */
const MAX_REMEMBERED = 10_000;

/** Where a response lives in codex: its thread and its turn. */
export interface ResponsePlace {
  threadId: string;
  turnId: string | null;
  /** The developer instructions of its thread (a response's own, and its format's). */
  instructions: string | undefined;
  /** The client functions its thread offers (see offeredToolsKey). */
  tools: string;
}

/**
 * Which codex thread each response runs on. A response continues the thread of `previous_response_id`
 * when that response is the thread's newest turn and nothing else runs there, and branches (a fork through
 * that turn) otherwise, so two continuations of one response never share a thread. A thread is claimed
 * while a response runs on it. Stored threads stay loaded for the next response of their chain, at most
 * {@link MAX_LOADED_THREADS} per tenant; ephemeral (`store:false`) ones are unloaded when their run ends.
 */
@Injectable()
export class ResponseThreads {
  /** Threads a running response owns (`tenant\0threadId`): a continuation of their parent must branch. */
  private readonly claimed = new Set<string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * The newest turn of each thread this process ran a response on (`tenant\0threadId` → turn id). Response
   * threads are not exposed by id, so only this service adds turns to them; after a restart codex is asked.
   */
  private readonly heads = new BoundedMap<string, string>(MAX_REMEMBERED);
  /** Where the stored responses this process finished live (`tenant\0responseId`): continuing one reads no record. */
  private readonly places = new BoundedMap<string, ResponsePlace>(MAX_REMEMBERED);
  /** Per tenant, the stored response threads left loaded in codex, least recently used first. */
  private readonly loaded = new Map<string, Set<string>>();

  constructor(private readonly appServer: AppServerTransport) {}

  /**
   * The thread a new response runs on, claimed: a new one (started ahead, ephemeral when not stored), or
   * the continuation of `previous` (see the class comment).
   */
  async place(
    tenant: string,
    previous: { id: string; threadId: string; turnId: string } | null,
    store: boolean,
    model: string,
    fixed: { tools?: DynamicTool[]; instructions?: string } = {},
  ): Promise<string> {
    if (!previous) {
      // The model goes with each turn; a conversation starts on one of the tenant's threads started ahead
      // (ephemeral ones when nothing is stored), unless it needs what a thread is given when it starts:
      // client tools, developer instructions.
      const { tools, instructions } = fixed;
      const started =
        !tools && !instructions
          ? await this.appServer.takeThread(tenant, { ephemeral: !store })
          : await this.appServer.startThread(tenant, {
              model,
              ephemeral: !store,
              dynamicTools: tools,
              developerInstructions: instructions,
            });
      this.claimed.add(key(tenant, started.thread.id));
      return started.thread.id;
    }
    const { threadId: source, turnId } = previous;
    const gone = (error: unknown) =>
      isCodexTransportError(error, CodexErrorCode.THREAD_NOT_FOUND)
        ? notFound(`The conversation of response '${previous.id}' no longer exists.`)
        : error;
    return this.withLock(tenant, source, async () => {
      const sourceKey = key(tenant, source);
      if (store && !this.claimed.has(sourceKey)) {
        const head =
          this.heads.get(sourceKey) ??
          (await this.appServer.latestTurnId(tenant, source).catch((error: unknown) => Promise.reject(gone(error))));
        if (head === turnId) {
          this.claimed.add(sourceKey);
          return source;
        }
      }
      const fork = await this.appServer
        .forkThread(tenant, { threadId: source, lastTurnId: turnId, ephemeral: !store, excludeTurns: true, model })
        .catch((error: unknown) => Promise.reject(gone(error)));
      this.claimed.add(key(tenant, fork.thread.id));
      return fork.thread.id;
    });
  }

  /** Claims the thread of a turn that a new response goes on reading (a turn that waited for tool results). */
  claim(tenant: string, threadId: string): void {
    this.claimed.add(key(tenant, threadId));
  }

  /** A response's turn started on `threadId`: it is the thread's newest turn. */
  turnStarted(tenant: string, threadId: string, turnId: string): void {
    this.heads.remember(key(tenant, threadId), turnId);
  }

  /** The response on `threadId` ended (or never started): the thread is free again. */
  release(tenant: string, threadId: string, store: boolean): void {
    this.claimed.delete(key(tenant, threadId));
    // An ephemeral thread is done for good: unload it. A stored one stays loaded for the next response of its
    // chain (unloading and resuming it every time costs a thread/resume per response); the tenant's idle codex
    // process is stopped after IDLE_TIMEOUT_SECONDS anyway.
    if (!store) void this.appServer.releaseThread(tenant, threadId).catch(() => undefined);
    else this.keepLoaded(tenant, threadId);
  }

  /** Where a stored response this process finished lives, if it is remembered. */
  placeOf(tenant: string, responseId: string): ResponsePlace | undefined {
    return this.places.get(key(tenant, responseId));
  }

  remember(tenant: string, responseId: string, place: ResponsePlace): void {
    this.places.remember(key(tenant, responseId), place);
  }

  forget(tenant: string, responseId: string): void {
    this.places.delete(key(tenant, responseId));
  }

  private async withLock<T>(tenant: string, threadId: string, work: () => Promise<T>): Promise<T> {
    const k = key(tenant, threadId);
    const before = this.locks.get(k) ?? Promise.resolve();
    const result = before.catch(() => undefined).then(work);
    const settled = result.catch(() => undefined);
    this.locks.set(k, settled);
    void settled.then(() => {
      if (this.locks.get(k) === settled) this.locks.delete(k);
    });
    return result;
  }

  private keepLoaded(tenant: string, threadId: string): void {
    let loaded = this.loaded.get(tenant);
    if (!loaded) this.loaded.set(tenant, (loaded = new Set()));
    loaded.delete(threadId);
    loaded.add(threadId);
    for (const oldest of loaded) {
      if (loaded.size <= MAX_LOADED_THREADS) break;
      if (this.claimed.has(key(tenant, oldest))) continue;
      loaded.delete(oldest);
      void this.appServer.releaseThread(tenant, oldest).catch(() => undefined);
    }
  }
}

function key(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
