import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { imageNode, imageNodeMajor } from '../bench/image-node';
import { ensureBuilt, MAIN_JS, ROOT } from './support/build';
import { connectH2, openAgentStream } from './support/h2';
import { codexPidsWith, makeDataDir, survivingCodexProcesses, TEST_DATA_ROOT } from './support/harness';
import { startProductionGateway } from './support/process';

const run = promisify(execFile);
/** The Node major of the container image's runtime stage (docker/Dockerfile). */
const IMAGE_NODE_MAJOR = imageNodeMajor();

describe(`the production build on Node ${IMAGE_NODE_MAJOR} (the image's Node)`, () => {
  it('boots, serves a turn on every protocol and stops on SIGTERM (exit 0, no codex left)', async () => {
    await ensureBuilt();
    const node = await imageNode(TEST_DATA_ROOT);
    const version = (await run(node, ['--version'])).stdout.trim();
    expect(version).toMatch(new RegExp(`^v${IMAGE_NODE_MAJOR}\\.`));
    const dataDir = makeDataDir('node22');
    const gw = await startProductionGateway(
      { PATH: process.env.PATH, HOME: dataDir, BASE_DATA_DIR: dataDir, LOG_FORMAT: 'json' },
      { cwd: ROOT, main: MAIN_JS, node },
    );
    let code: number | null;
    try {
      expect(gw.stdout()).toContain(`"pid":${gw.child.pid}`);
      expect((await fetch(`${gw.url}/health/ready`)).status).toBe(200);
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${gw.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(200);
        return (await res.json()) as any;
      };
      const thread = await post('/api/thread/start', {});
      const turn = await post('/api/turn/start', {
        threadId: thread.thread.id,
        input: [{ type: 'text', text: '[[reply: rest on 22]]' }],
      });
      expect(turn.turn).toMatchObject({
        status: 'completed',
        items: [expect.anything(), expect.objectContaining({ text: 'rest on 22' })],
      });
      const completion = await post('/v1/chat/completions', {
        model: 'gpt-5-codex',
        messages: [{ role: 'user', content: '[[reply: chat completion on 22]]' }],
      });
      expect(completion.choices[0].message.content).toBe('chat completion on 22');
      const response = await post('/v1/responses', { input: '[[reply: response on 22]]' });
      expect(response).toMatchObject({
        status: 'completed',
        output: [expect.objectContaining({ content: [expect.objectContaining({ text: 'response on 22' })] })],
      });
      const chat = await post('/chat', { messages: [{ content: '[[reply: chat on 22]]' }], stream: false });
      expect(chat).toMatchObject({ status: 'completed', response: 'chat on 22' });
      const h2 = connectH2(gw.h2Url);
      try {
        const stream = openAgentStream(h2);
        stream.send({ type: 'user_message', content: '[[reply: h2 on 22]]' });
        const done = await stream.next((f) => f.type === 'turn_completed');
        expect(done.status).toBe('completed');
        expect(
          stream.frames.find(
            (f) => f.type === 'item' && f.phase === 'completed' && f.responseItem.type === 'agentMessage',
          )!.responseItem.text,
        ).toBe('h2 on 22');
        stream.end();
        await stream.closed;
      } finally {
        h2.close();
      }
      expect(codexPidsWith(dataDir).length).toBeGreaterThan(0);
    } finally {
      code = await gw.stop('SIGTERM');
    }
    expect(code).toBe(0);
    expect(gw.stdout()).toContain('SIGTERM received');
    expect(await survivingCodexProcesses(dataDir)).toBe('');
  }, 180_000);
});
