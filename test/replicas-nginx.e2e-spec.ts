import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ownerOf } from '../apps/gateway/src/replicas/ownership';
import { ensureBuilt, ROOT } from './support/build';
import { connectH2, openAgentStream } from './support/h2';
import { codexProcessesWith, makeDataDir, until } from './support/harness';
import { startNginx, type Nginx } from './support/nginx';
import { freePort } from './support/process';
import { parseSse } from './support/sse';

const DIST = join(ROOT, 'dist', 'apps', 'gateway', 'apps', 'gateway', 'src');
const MAIN = join(DIST, 'main.js');
const TENANTS_CLI = join(DIST, 'replicas', 'tenants-cli.js');

/** Tenant names whose owners (of two replicas, then of three) are what each scenario needs. */
function pick(want: (two: number, three: number) => boolean, taken: string[]): string {
  for (let i = 0; ; i++) {
    const name = `user${i}`;
    if (!taken.includes(name) && want(ownerOf(name, 2), ownerOf(name, 3))) {
      taken.push(name);
      return name;
    }
  }
}
const taken: string[] = [];
const MOVED_FROM_0 = pick((two, three) => two === 0 && three === 2, taken);
const MOVED_FROM_1 = pick((two, three) => two === 1 && three === 2, taken);
const STAYS_ON_0 = pick((two, three) => two === 0 && three === 0, taken);
const STAYS_ON_1 = pick((two, three) => two === 1 && three === 1, taken);
const TENANTS = [MOVED_FROM_0, MOVED_FROM_1, STAYS_ON_0, STAYS_ON_1];
const token = (tenant: string) => `${tenant}-token-of-the-replica-test`;

/**
 * Three gateway processes as replicas 0–2, each with a volume of its own mounted at the same path (as a
 * StatefulSet's pods each mount theirs at /data), behind a real nginx routed as docker/k8s/ingress.yaml
 * routes. The set grows from two replicas to three (the tenants whose owner changed are moved with the
 * tenants CLI, and are refused, not served empty, until their data is there), replica 2 is killed
 * mid-stream and started again, and the set shrinks back to two (the leaving replica's volume moved).
 */
describe('three gateway processes behind nginx', () => {
  let mountPoint: string;
  const volumes: string[] = [];
  let ports: number[] = [];
  let h2Ports: number[] = [];
  let nginxPort = 0;
  const replicas: Array<ChildProcess | null> = [null, null, null];
  const outputs: Array<() => string> = [() => '', () => '', () => ''];
  let nginx: Nginx | null = null;
  /** Per tenant, before the scaling: a chat session (its thread) and a stored response. */
  const before = new Map<string, { session: string; responseId: string }>();

  const env = (i: number, count: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: mountPoint,
    BASE_DATA_DIR: mountPoint,
    HOST: '127.0.0.1',
    PORT: String(ports[i]),
    CODEX_H2_PORT: String(h2Ports[i]),
    CODEX_PEERS: ports
      .slice(0, count)
      .map((p) => `http://127.0.0.1:${p}`)
      .join(','),
    CODEX_H2_PEERS: h2Ports
      .slice(0, count)
      .map((p) => `http://127.0.0.1:${p}`)
      .join(','),
    CODEX_REPLICA_INDEX: String(i),
    CODEX_GATEWAY_TOKENS: TENANTS.map((t) => `${t}:${token(t)}`).join(','),
    SHUTDOWN_GRACE_SECONDS: '2',
    LOG_FORMAT: 'json',
    ...extra,
  });
  /** A command in replica i's view: its own volume at the mount point. */
  const inReplica = (i: number, command: string[], processEnv: NodeJS.ProcessEnv, stdio: any) =>
    spawn('bwrap', ['--dev-bind', '/', '/', '--bind', volumes[i], mountPoint, '--die-with-parent', '--', ...command], {
      env: processEnv,
      stdio,
      detached: true,
    });

  const startReplica = async (i: number, count: number, extra: Record<string, string> = {}) => {
    const child = inReplica(i, [process.execPath, MAIN], env(i, count, extra), ['ignore', 'pipe', 'pipe']);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    replicas[i] = child;
    outputs[i] = () => output;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`replica ${i} exited (${child.exitCode}):\n${output}`);
      const live = await fetch(`http://127.0.0.1:${ports[i]}/health/live`).then(
        (r) => r.ok,
        () => false,
      );
      if (live) return;
      if (Date.now() > deadline) throw new Error(`replica ${i} not live in 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stopReplica = async (i: number, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = replicas[i];
    replicas[i] = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (signal === 'SIGKILL') {
      process.kill(-child.pid!, 'SIGKILL'); // bubblewrap, the gateway and everything they started
    } else {
      // The gateway itself (bubblewrap would pass on its own end as a SIGKILL): it drains and exits, then
      // bubblewrap does.
      process.kill(Number(/"pid":(\d+)/.exec(outputs[i]())![1]), signal);
    }
    await exited;
  };
  const tenantsCli = (i: number, count: number, args: string[], stdio: any = ['ignore', 'pipe', 'pipe']) =>
    inReplica(i, [process.execPath, TENANTS_CLI, ...args], env(i, count), stdio);
  const output = async (child: ChildProcess) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, out };
  };

  const openai = (tenant: string) => new OpenAI({ apiKey: token(tenant), baseURL: `${nginx!.url}/v1`, maxRetries: 0 });
  const raw = (tenant: string, path: string, init: RequestInit = {}) =>
    fetch(`${nginx!.url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token(tenant)}`, 'Content-Type': 'application/json', ...init.headers },
    });
  const remembers = async (tenant: string) => {
    const { session, responseId } = before.get(tenant)!;
    const chat = await openai(tenant)
      .chat.completions.create(
        { model: 'x', messages: [{ role: 'user', content: '[[memory]]' }] },
        { headers: { 'X-Codex-Session-Id': session } },
      )
      .withResponse();
    const stored = await openai(tenant).responses.retrieve(responseId);
    return {
      servedBy: Number(chat.response.headers.get('x-codex-replica')),
      memory: chat.data.choices[0].message.content,
      stored: stored.output_text,
    };
  };

  /** The turns a replica ran (its own metrics). */
  const turnsOn = async (i: number) => {
    const text = await (
      await fetch(`http://127.0.0.1:${ports[i]}/metrics`, { headers: { Authorization: `Bearer ${token(TENANTS[0])}` } })
    ).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('codex_gateway_turns_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  };

  /** Every tenant, served by its owner of `count` replicas, has its conversation and stored response. */
  const everyTenantServedWithItsData = async (count: number) => {
    for (const tenant of TENANTS) {
      expect({ tenant, ...(await remembers(tenant)) }).toEqual({
        tenant,
        servedBy: ownerOf(tenant, count),
        memory: expect.stringContaining(`1) "${tenant} before the move"`),
        stored: expect.stringContaining(`${tenant} stored before`),
      });
    }
  };
  /**
   * Moves a tenant with the tenants CLI: `send` in replica `from` (configured for `fromCount`, plus
   * `args`), piped to `receive` in replica `to` (configured for `toCount`), then `forget` in `from`.
   */
  const moveTenant = async (tenant: string, from: [number, number], to: [number, number], args: string[] = []) => {
    const send = tenantsCli(from[0], from[1], ['send', tenant, ...args], ['ignore', 'pipe', 'inherit']);
    const receive = tenantsCli(to[0], to[1], ['receive', tenant], [send.stdout, 'pipe', 'pipe']);
    expect(await output(receive)).toEqual({ code: 0, out: '' });
    expect(await output(tenantsCli(from[0], from[1], ['forget', tenant, ...args]))).toEqual({ code: 0, out: '' });
  };

  beforeAll(async () => {
    await ensureBuilt();
    mountPoint = makeDataDir('replica-mount');
    for (const i of [0, 1, 2]) volumes.push(makeDataDir(`replica-volume-${i}`));
    ports = [await freePort(), await freePort(), await freePort()];
    h2Ports = [await freePort(), await freePort(), await freePort()];
    nginxPort = await freePort();
  }, 300_000);

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([0, 1, 2].map((i) => stopReplica(i)));
    // No codex of any replica outlives it (they all run under the mount point).
    await until(() => codexProcessesWith(mountPoint).length === 0, 'no codex left');
  }, 60_000);

  it('two replicas: each tenant is served by its owner, whatever replica nginx picks', async () => {
    await Promise.all([startReplica(0, 2), startReplica(1, 2)]);
    nginx = await startNginx(join(volumes[0], '..', `nginx-${nginxPort}`), nginxPort, ports.slice(0, 2));
    for (const tenant of TENANTS) {
      const chat = await openai(tenant)
        .chat.completions.create({ model: 'x', messages: [{ role: 'user', content: `${tenant} before the move` }] })
        .withResponse();
      expect({ tenant, servedBy: chat.response.headers.get('x-codex-replica') }).toEqual({
        tenant,
        servedBy: String(ownerOf(tenant, 2)),
      });
      const stored = await openai(tenant).responses.create({ model: 'x', input: `${tenant} stored before` });
      before.set(tenant, { session: chat.response.headers.get('x-codex-session-id')!, responseId: stored.id });
      // Straight to each replica, not through nginx: the owner serves it all the same.
      for (const i of [0, 1]) {
        const direct = await fetch(`http://127.0.0.1:${ports[i]}/v1/chat/completions`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token(tenant)}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: `straight to replica ${i}` }] }),
        });
        expect({ tenant, via: i, servedBy: direct.headers.get('x-codex-replica') }).toEqual({
          tenant,
          via: i,
          servedBy: String(ownerOf(tenant, 2)),
        });
      }
    }
    // Every turn ran on its tenant's owner: four per tenant (three chats and a response).
    for (const i of [0, 1]) {
      const owned = TENANTS.filter((t) => ownerOf(t, 2) === i).length;
      expect({ replica: i, turns: await turnsOn(i) }).toEqual({ replica: i, turns: 4 * owned });
    }
  }, 120_000);

  it('growing to three: a tenant whose owner changed is refused (503) until its data is moved, then has all of it', async () => {
    await nginx!.stop();
    await Promise.all([stopReplica(0), stopReplica(1)]);
    await Promise.all([0, 1, 2].map((i) => startReplica(i, 3, { CODEX_REPLICAS_BEFORE: '2' })));
    nginx = await startNginx(join(volumes[0], '..', `nginx-${nginxPort}`), nginxPort, ports);

    // Not moved yet: a clear 503 with Retry-After, never an empty tenant on the new owner.
    const early = await raw(MOVED_FROM_0, '/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'too early' }] }),
    });
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await early.text()).toContain('moves from replica 0 to replica 2');
    // The tenants that stay are served meanwhile.
    expect((await remembers(STAYS_ON_0)).memory).toContain(`"${STAYS_ON_0} before the move"`);

    // The move: each old replica lists what is no longer its own, sends it to the owner, forgets it.
    for (const [from, tenant] of [
      [0, MOVED_FROM_0],
      [1, MOVED_FROM_1],
    ] as const) {
      const listed = await output(tenantsCli(from, 3, ['list']));
      expect(listed).toEqual({ code: 0, out: `${tenant}\t2\n` });
      await moveTenant(tenant, [from, 3], [2, 3]);
      expect(await output(tenantsCli(from, 3, ['list']))).toEqual({ code: 0, out: '' });
    }
    await everyTenantServedWithItsData(3);
  }, 240_000);

  it('replica 2 killed mid-stream: its tenants get an error and then 503s (never a 404 or a thread elsewhere); the others are untouched; back, it has everything', async () => {
    const tenant = MOVED_FROM_0; // owned by replica 2
    const listThreads = async () =>
      (
        (await (await raw(tenant, '/threads?limit=50')).json()) as { threads: Array<{ thread_id: string }> }
      ).threads.map((t) => t.thread_id);
    const threads = await listThreads();
    expect(threads.length).toBeGreaterThan(0);

    // A Chat Completions stream through nginx, and an agent stream relayed by replica 0, both mid-turn.
    const sse = await raw(tenant, '/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'user', content: '[[slow: 1000]] long' }] }),
    });
    expect(sse.status).toBe(200);
    const reader = sse.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('data: ');
    // The same through replica 0 directly: it relays the stream from replica 2.
    const relayed = await fetch(`http://127.0.0.1:${ports[0]}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token(tenant)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'x',
        stream: true,
        messages: [{ role: 'user', content: '[[slow: 1000]] relayed' }],
      }),
    });
    expect(relayed.headers.get('x-codex-replica')).toBe('2');
    const relayedReader = relayed.body!.getReader();
    await relayedReader.read();
    const h2 = connectH2(`http://127.0.0.1:${h2Ports[0]}`);
    const agent = openAgentStream(h2, { headers: { authorization: `Bearer ${token(tenant)}` } });
    agent.send({ type: 'user_message', id: 'long', content: '[[slow: 1000]] long too' });
    await agent.next((f) => f.type === 'item' && f.phase === 'delta');

    await stopReplica(2, 'SIGKILL');

    // The SSE stream ends without its [DONE]: an error event from a relaying replica, or the cut itself.
    let rest = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
    } catch {
      rest += '(cut)';
    }
    expect(rest).not.toContain('[DONE]');
    if (!rest.endsWith('(cut)')) {
      expect(parseSse(rest).at(-1)).toMatchObject({ event: 'error' });
    }
    // Through a relaying replica the stream ends with an error event (what OpenAI's SDKs raise).
    let relayedRest = '';
    for (;;) {
      const { done, value } = await relayedReader.read();
      if (done) break;
      relayedRest += new TextDecoder().decode(value);
    }
    expect(parseSse(relayedRest).at(-1)).toMatchObject({
      event: 'error',
      json: { error: { code: 'replica_unavailable' }, retryAfter: expect.any(Number) },
    });
    // The relayed agent stream says so in band.
    expect(await agent.next((f) => f.type === 'error')).toMatchObject({
      code: 'REPLICA_UNAVAILABLE',
      retryAfter: expect.any(Number),
    });
    h2.close();

    // While it is down: every request of its tenants is 503 + Retry-After (new threads included).
    for (const [method, path, body] of [
      ['GET', `/history?thread_id=${threads[0]}`, undefined],
      ['GET', '/threads', undefined],
      ['POST', '/api/thread/start', {}],
      ['POST', '/v1/responses', { model: 'x', input: 'while it is down' }],
    ] as const) {
      const res = await raw(tenant, path, { method, body: body && JSON.stringify(body) });
      expect({ path, status: res.status, retryAfter: res.headers.get('retry-after') }).toEqual({
        path,
        status: 503,
        retryAfter: expect.stringMatching(/^\d+$/),
      });
    }
    for (const other of [STAYS_ON_0, STAYS_ON_1]) {
      expect((await remembers(other)).servedBy).toBe(ownerOf(other, 3));
    }

    await startReplica(2, 3);
    for (const t of [MOVED_FROM_0, MOVED_FROM_1]) {
      expect(await remembers(t)).toMatchObject({ servedBy: 2, stored: expect.stringContaining(`${t} stored before`) });
    }
    expect(await listThreads()).toEqual(expect.arrayContaining(threads));
  }, 240_000);

  it('shrinking to two: the leaving replica is stopped, its tenants wait (503) and are moved from its volume', async () => {
    await nginx!.stop();
    await Promise.all([0, 1, 2].map((i) => stopReplica(i)));
    await Promise.all([0, 1].map((i) => startReplica(i, 2, { CODEX_REPLICAS_BEFORE: '3' })));
    nginx = await startNginx(join(volumes[0], '..', `nginx-${nginxPort}`), nginxPort, ports.slice(0, 2));
    const early = await raw(MOVED_FROM_1, '/v1/responses', {
      method: 'POST',
      body: JSON.stringify({ model: 'x', input: 'too early' }),
    });
    expect({ status: early.status, body: await early.text() }).toEqual({
      status: 503,
      body: expect.stringContaining('moves from replica 2 to replica 1'),
    });

    // The CLI reads replica 2's volume as replica 2 of three, moving to two replicas.
    const listed = await output(tenantsCli(2, 3, ['list', '--replicas', '2']));
    expect(listed.code).toBe(0);
    expect(listed.out.trim().split('\n').sort()).toEqual([`${MOVED_FROM_0}\t0`, `${MOVED_FROM_1}\t1`].sort());
    for (const tenant of [MOVED_FROM_0, MOVED_FROM_1]) {
      await moveTenant(tenant, [2, 3], [ownerOf(tenant, 2), 2], ['--replicas', '2']);
    }
    await everyTenantServedWithItsData(2);
    // A receiving replica that already has the tenant refuses to overwrite it.
    const again = tenantsCli(ownerOf(STAYS_ON_0, 2), 2, ['receive', STAYS_ON_0], ['ignore', 'pipe', 'pipe']);
    expect(await output(again)).toEqual({ code: 2, out: expect.stringContaining('already has data') });
  }, 240_000);
});
