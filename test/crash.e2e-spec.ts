import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OfflineProvider } from '@app/offline-provider';
import { ensureBuilt, MAIN_JS, ROOT } from './support/build';
import { codexProcessesWith, makeDataDir, survivingCodexProcesses, until } from './support/harness';
import { type ProductionGateway, startProductionGateway } from './support/process';

const TOKEN = 'crash-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

/**
 * The gateway killed with SIGKILL in the middle of turns (the model still streaming, on the app-server and
 * the exec backend, with and without tenant isolation): no codex of its data dir outlives it, and a
 * gateway started again on the same data dir has every completed thread and response intact, the
 * interrupted response read as failed, and no stored record half written.
 */
describe.each(['namespace', 'off'] as const)('kill -9 mid-turn (CODEX_TENANT_ISOLATION=%s)', (isolation) => {
  let dataDir: string;
  // The model outlives the gateway (it is not the gateway's own offline provider): its streams stay open.
  const provider = new OfflineProvider();
  const env = () => ({
    PATH: process.env.PATH,
    HOME: dataDir,
    BASE_DATA_DIR: dataDir,
    CODEX_API_BASE_URL: provider.baseUrl,
    CODEX_GATEWAY_TOKEN: TOKEN,
    CODEX_BACKEND: 'exec',
    CODEX_TENANT_ISOLATION: isolation,
    LOG_FORMAT: 'json',
  });
  const post = async (gw: ProductionGateway, path: string, body: unknown) => {
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as any };
  };

  beforeAll(async () => {
    await ensureBuilt();
    await provider.start();
    dataDir = makeDataDir(`crash-${isolation}`);
  });

  afterAll(async () => {
    await provider.stop();
  });

  it('leaves no codex behind and no half-written record; after a restart what was done is intact', async () => {
    const first = await startProductionGateway(env(), { cwd: ROOT, main: MAIN_JS });
    let threadId: string;
    let doneId: string;
    let runningId: string;
    try {
      // Done before the crash: a REST thread with a turn, and a stored response.
      threadId = (await post(first, '/api/thread/start', {})).json.thread.id;
      expect(
        (
          await post(first, '/api/turn/start', {
            threadId,
            input: [{ type: 'text', text: '[[reply: before the crash]]' }],
          })
        ).json.turn.status,
      ).toBe('completed');
      doneId = (await post(first, '/v1/responses', { input: '[[reply: kept]]' })).json.id;
      // Running at the crash (the model streams a delta, then nothing): a REST turn, a background response,
      // and a Chat Completion on the exec backend.
      void fetch(`${first.url}/api/turn/start`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ threadId, input: [{ type: 'text', text: '[[stall: 1]] cut off' }] }),
      }).catch(() => undefined);
      runningId = (await post(first, '/v1/responses', { input: '[[stall: 1]] cut off', background: true })).json.id;
      void fetch(`${first.url}/v1/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: '[[stall: 1]] cut off' }] }),
      }).catch(() => undefined);
      await until(() => {
        const running = codexProcessesWith(dataDir);
        return (
          running.some((p) => / exec /.test(p.args)) &&
          running.some((p) => / app-server/.test(p.args)) &&
          provider.openStreams === 3
        );
      }, 'app-server and exec codex running, the model streaming to all three turns');
    } finally {
      first.child.kill('SIGKILL');
    }
    await new Promise((resolve) => first.child.once('exit', resolve));
    expect(await survivingCodexProcesses(dataDir)).toBe('');
    await until(() => provider.openStreams === 0, "codex's model streams closed");

    // No stored record is half written: every file of the response store parses.
    const store = join(dataDir, 'responses', 'default');
    for (const file of readdirSync(store)) {
      expect({ file, tmp: file.endsWith('.tmp') }).toEqual({ file, tmp: false });
      expect(() => JSON.parse(readFileSync(join(store, file), 'utf8'))).not.toThrow();
    }

    const second = await startProductionGateway(env(), { cwd: ROOT, main: MAIN_JS });
    try {
      const get = async (path: string) =>
        (await (await fetch(`${second.url}${path}`, { headers: auth })).json()) as any;
      expect(await get(`/v1/responses/${doneId}`)).toMatchObject({
        status: 'completed',
        output: [expect.objectContaining({ content: [expect.objectContaining({ text: 'kept' })] })],
      });
      expect(await get(`/v1/responses/${runningId}`)).toMatchObject({
        status: 'failed',
        error: { message: expect.stringMatching(/stopped while this response was running/) },
      });
      const thread = (await post(second, '/api/thread/read', { threadId: threadId!, includeTurns: true })).json.thread;
      expect(thread.turns[0]).toMatchObject({
        status: 'completed',
        items: expect.arrayContaining([expect.objectContaining({ text: 'before the crash' })]),
      });
      // The thread goes on.
      expect(
        (
          await post(second, '/api/turn/start', {
            threadId: threadId!,
            input: [{ type: 'text', text: '[[reply: after]]' }],
          })
        ).json.turn.status,
      ).toBe('completed');
    } finally {
      expect(await second.stop()).toBe(0);
    }
    expect(await survivingCodexProcesses(dataDir)).toBe('');
  }, 180_000);
});
