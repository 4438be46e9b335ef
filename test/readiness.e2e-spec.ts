import request from 'supertest';
import { ensureBuilt, MAIN_JS, ROOT } from './support/build';
import { startProductionGateway } from './support/process';
import { AgentStreamServer } from '../apps/gateway/src/agent-stream/agent-stream.server';
import { startGateway, type TestGateway } from './support/gateway';
import { connectH2, openAgentStream } from './support/h2';
import { makeDataDir, survivingCodexProcesses } from './support/harness';
import { postSse } from './support/sse';

/**
 * A setting codex itself refuses (here a client name it will not put in an HTTP header; codex answers
 * `initialize` with "Invalid clientInfo.name … Must be a valid HTTP header value.") passes the gateway's own
 * validation. Readiness starts a codex the way a tenant's is started, so it says 503 with codex's reason,
 * and every protocol answers a clear 503 with that reason instead of a generic failure.
 */
describe('readiness and every protocol when codex refuses a setting', () => {
  let gw: TestGateway;
  const REASON = /Invalid clientInfo\.name.*valid HTTP header value/;

  beforeAll(async () => {
    gw = await startGateway('refused', { CODEX_CLIENT_NAME: 'codex\u0001gateway' });
  });

  afterAll(async () => {
    await gw?.close();
    expect(await survivingCodexProcesses(gw.dataDir)).toBe('');
  });

  it('/health/ready is 503 with codex’s own reason, without the server’s paths', async () => {
    const ready = await request(gw.url).get('/health/ready').expect(503);
    expect(ready.body.error.codex).toMatchObject({
      status: 'down',
      message: 'codex process failed to initialize',
      reason: expect.stringMatching(REASON),
    });
    expect(JSON.stringify(ready.body)).not.toContain(gw.dataDir);
    await request(gw.url).get('/health/live').expect(200);
  });

  it('REST, /chat, Chat Completions and Responses answer 503 with the reason and Retry-After', async () => {
    const rest = await request(gw.url).post('/api/thread/start').send({}).expect(503);
    expect(rest.body).toMatchObject({ statusCode: 503, message: expect.stringMatching(REASON) });
    expect(Number(rest.headers['retry-after'])).toBeGreaterThan(0);

    const chat = await request(gw.url)
      .post('/chat')
      .send({ messages: [{ content: 'hi' }], stream: false })
      .expect(503);
    expect(chat.body.message).toMatch(REASON);

    const completion = await request(gw.url)
      .post('/v1/chat/completions')
      .send({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }] })
      .expect(503);
    expect(completion.body.error).toMatchObject({ message: expect.stringMatching(REASON) });
    expect(Number(completion.headers['retry-after'])).toBeGreaterThan(0);

    const response = await request(gw.url).post('/v1/responses').send({ input: 'hi' }).expect(503);
    expect(response.body.error).toMatchObject({ message: expect.stringMatching(REASON) });

    // A stream that has not started yet gets a plain 503 too.
    const sse = await postSse(gw.url, '/v1/chat/completions', {
      model: 'gpt-5-codex',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(sse.status).toBe(503);
    expect(sse.raw).toMatch(REASON);
  });

  it('HTTP/2: an error frame with the reason, then terminate, and the stream ends (no heartbeats after it)', async () => {
    const h2 = connectH2(gw.app.get(AgentStreamServer).url);
    try {
      const s = openAgentStream(h2);
      s.send({ type: 'user_message', id: 'm1', content: 'hi' });
      await s.next((f) => f.type === 'terminate');
      await s.closed;
      expect(s.frames.map((f) => f.type)).toEqual(['error', 'terminate']);
      expect(s.frames[0]).toMatchObject({
        id: 'm1',
        code: 'START_FAILED',
        message: expect.stringMatching(REASON),
        retryable: true,
        retryAfter: expect.any(Number),
      });
    } finally {
      h2.close();
    }
  });
});

describe('the boot log when codex refuses a setting', () => {
  it('says so loudly, with codex’s reason, while the gateway keeps serving its probes', async () => {
    await ensureBuilt();
    const dataDir = makeDataDir('refused-boot');
    const gw = await startProductionGateway(
      {
        PATH: process.env.PATH,
        HOME: dataDir,
        BASE_DATA_DIR: dataDir,
        CODEX_CLIENT_NAME: 'codex\u0001gateway',
        LOG_FORMAT: 'json',
      },
      { cwd: ROOT, main: MAIN_JS },
    );
    try {
      const deadline = Date.now() + 20_000;
      while (!gw.stdout().includes('CODEX CANNOT START') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const line = gw
        .stdout()
        .split('\n')
        .find((l) => l.includes('CODEX CANNOT START'));
      expect(JSON.parse(line!)).toMatchObject({
        level: 'error',
        msg: expect.stringMatching(/Invalid clientInfo\.name.*\/health\/ready answers 503/),
      });
      expect((await fetch(`${gw.url}/health/ready`)).status).toBe(503);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  }, 120_000);
});
