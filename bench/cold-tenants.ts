/**
 * New tenants, one after another (`--scale`): what a tenant's first request costs, and what a tenant's
 * codex holds in memory, on a gateway of their own (so they evict nobody).
 */
import type { GatewayProcess } from './gateway-process';
import { distribution, type Distribution, pidsWithEnv, sumPrivateMb, sumRssMb } from './stats';
import { chatCompletionsSurface, postJson, streamPost } from './surfaces';

export interface ColdTenants {
  tenants: number;
  /** A new tenant's first streamed Chat Completion: request sent → first content delta. */
  firstDeltaMs: Distribution;
  /** The same cost in parts, on other new tenants over REST: */
  split: {
    /** codex spawned and initialized (a first `thread/start` less a second one). */
    spawnInitializeMs: Distribution;
    /** `thread/start` on a running process. */
    threadStartMs: Distribution;
    /** `turn/start` → first delta on a new thread of a running process. */
    firstDeltaMs: Distribution;
  };
  /** codex RSS of a tenant (its process tree), idle after its first conversation, and after ten. */
  rssMb: { afterOne: Distribution; afterTen: Distribution };
  /**
   * The same, less the pages shared with every other codex process (the binary's): what each more
   * tenant costs the machine.
   */
  privateMb: { afterOne: Distribution; afterTen: Distribution };
}

/** The new-tenant target: first delta p50 of a new tenant's first request. */
export const COLD_TENANT_P50_MS = 130;

export async function coldTenants(gw: GatewayProcess, count: number, prompt: string): Promise<ColdTenants> {
  const firstDelta: number[] = [];
  const spawn: number[] = [];
  const threadStart: number[] = [];
  const restDelta: number[] = [];
  const afterOne: number[] = [];
  const afterTen: number[] = [];
  const privateOne: number[] = [];
  const privateTen: number[] = [];
  const completions = chatCompletionsSurface(gw.url);
  const chat = (tenant: string) => completions.turn(completions.prepare(tenant), prompt);
  const pidsOf = (tenant: string) => pidsWithEnv(`/users/${tenant}\u0000`);
  for (let i = 0; i < count; i++) {
    const user = `cold-${i}`;
    firstDelta.push((await chat(user)).ttftMs);
    await new Promise((r) => setTimeout(r, 200)); // its spare thread started, the process idle
    const pids = pidsOf(user);
    afterOne.push(sumRssMb(pids));
    privateOne.push(sumPrivateMb(pids));
    if (i < 5) {
      for (let k = 1; k < 10; k++) await chat(user);
      await new Promise((r) => setTimeout(r, 200));
      const later = pidsOf(user);
      afterTen.push(sumRssMb(later));
      privateTen.push(sumPrivateMb(later));
    }

    const parts = `cold-rest-${i}`;
    const headers = { 'x-user-id': parts };
    let t = performance.now();
    const { thread } = (await postJson(gw.url, '/api/thread/start', {}, headers)) as { thread: { id: string } };
    const first = performance.now() - t;
    t = performance.now();
    await postJson(gw.url, '/api/thread/start', {}, headers);
    const second = performance.now() - t;
    spawn.push(Math.max(0, first - second));
    threadStart.push(second);
    const turn = await streamPost(
      gw.url,
      '/api/turn/start',
      { threadId: thread.id, input: [{ type: 'text', text: prompt }], stream: true },
      headers,
      /event: item\.delta/,
    );
    restDelta.push(turn.ttftMs);
  }
  return {
    tenants: count,
    firstDeltaMs: distribution(firstDelta),
    split: {
      spawnInitializeMs: distribution(spawn),
      threadStartMs: distribution(threadStart),
      firstDeltaMs: distribution(restDelta),
    },
    rssMb: { afterOne: distribution(afterOne), afterTen: distribution(afterTen) },
    privateMb: { afterOne: distribution(privateOne), afterTen: distribution(privateTen) },
  };
}
