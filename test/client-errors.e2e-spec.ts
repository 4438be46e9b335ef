import { gzipSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import OpenAI from 'openai';
import { AppServerTransport } from '@app/codex-transport';
import { AgentStreamServer } from '../apps/gateway/src/agent-stream/agent-stream.server';
import { OfflineProviderHost } from '../apps/gateway/src/codex/offline-provider.host';
import { startGateway, type TestGateway } from './support/gateway';
import { connectH2, openAgentStream } from './support/h2';
import { postSse } from './support/sse';

const ROOT = resolve(__dirname, '..');
const TOKEN = 'client-errors-token';

/**
 * What a client gets wrong is a 4xx that says what, and no error body tells anything of the server:
 * paths outside the workspace, turns of another thread, invalid cursors, bodies that do not decode, and a
 * provider that refuses the gateway's key.
 */
describe('client errors are 4xx, and error bodies reveal nothing internal', () => {
  let gw: TestGateway;
  const logged: string[] = [];
  const logger: LoggerService = {
    log: () => undefined,
    warn: (m: unknown) => void logged.push(String(m)),
    error: (m: unknown, ...rest: unknown[]) => void logged.push([m, ...rest].map(String).join(' ')),
  };
  /** Every error body the tests saw, for the sweep at the end. */
  const bodies: Array<{ what: string; body: string }> = [];

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body:
        body === undefined
          ? undefined
          : typeof body === 'string' || Buffer.isBuffer(body)
            ? body
            : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) bodies.push({ what: `${method} ${path}`, body: text });
    return {
      status: res.status,
      text,
      json: (() => {
        try {
          return JSON.parse(text);
        } catch {
          return null;
        }
      })(),
    };
  };

  beforeAll(async () => {
    gw = await startGateway('client-errors', { CODEX_GATEWAY_TOKEN: TOKEN }, { logger });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('skills/config/write: a path outside the workspace and the home is 400, written nowhere; one inside works', async () => {
    for (const path of ['/etc/passwd', '../../etc/passwd', '../users/default/config.toml']) {
      const res = await call('POST', '/api/skills/config/write', { path, enabled: false });
      expect({ path, status: res.status, message: res.json?.message }).toEqual({
        path,
        status: 400,
        message: expect.stringMatching(
          /path must be an existing file inside the workspace roots|outside the workspace roots/,
        ),
      });
    }
    const home = gw.app.get(AppServerTransport).homeOf('default');
    mkdirSync(join(home, 'skills', 'notes'), { recursive: true });
    writeFileSync(
      join(home, 'skills', 'notes', 'SKILL.md'),
      '---\nname: notes\ndescription: Take notes\n---\n\nWrite them down.\n',
    );
    const ok = await call('POST', '/api/skills/config/write', {
      path: join(home, 'skills', 'notes', 'SKILL.md'),
      enabled: false,
    });
    expect(ok).toMatchObject({ status: 200, json: { effectiveEnabled: false } });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(home, 'config.toml'), 'utf8')).not.toContain('/etc/passwd');
  });

  it("fork with another thread's turn is 404; an invalid cursor is 400 on both listings", async () => {
    const other = await call('POST', '/api/thread/start', {});
    await call('POST', '/api/turn/start', { threadId: other.json.thread.id, input: [{ type: 'text', text: 'one' }] });
    const otherTurn = (await call('POST', '/api/thread/read', { threadId: other.json.thread.id, includeTurns: true }))
      .json.thread.turns[0].id;
    const mine = await call('POST', '/api/thread/start', {});
    await call('POST', '/api/turn/start', { threadId: mine.json.thread.id, input: [{ type: 'text', text: 'two' }] });
    const fork = await call('POST', '/api/thread/fork', { threadId: mine.json.thread.id, lastTurnId: otherTurn });
    expect({ status: fork.status, message: fork.json.message }).toEqual({
      status: 404,
      message: 'turn not found in this thread',
    });
    for (const res of [
      await call('GET', '/threads?cursor=not-a-cursor'),
      await call('POST', '/api/thread/list', { cursor: 'not-a-cursor' }),
    ]) {
      expect({ status: res.status, message: res.json.message }).toEqual({
        status: 400,
        message: expect.stringMatching(/invalid cursor/),
      });
    }
  });

  it('a body that does not decode with its Content-Encoding is 400 (with or without a token), logged without a stack', async () => {
    const before = logged.length;
    for (const encoding of ['gzip', 'deflate', 'br']) {
      for (const headers of [
        { 'content-encoding': encoding },
        { 'content-encoding': encoding, authorization: 'Bearer wrong-token' },
      ] as Array<Record<string, string>>) {
        const res = await call('POST', '/api/thread/list', 'this is not compressed', {
          'content-type': 'application/json',
          ...headers,
        });
        expect({ encoding, status: res.status, message: res.json?.message }).toEqual({
          encoding,
          status: 400,
          message: 'Request body does not decode with its Content-Encoding',
        });
      }
    }
    // A body that does decode is read as usual.
    expect(
      (
        await call('POST', '/api/thread/list', gzipSync('{"limit":1}'), {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        })
      ).status,
    ).toBe(200);
    expect(logged.slice(before).filter((line) => /\n\s+at |zlib/i.test(line))).toEqual([]);
  });

  it('a body that is not JSON is 415 in each protocol’s shape, and nothing is done with it', async () => {
    const threads = async () => ((await call('POST', '/api/thread/list', {})).json as { data: unknown[] }).data.length;
    const before = await threads();
    const text = await call('POST', '/api/thread/start', 'hello', { 'content-type': 'text/plain' });
    expect({ status: text.status, message: text.json?.message }).toEqual({
      status: 415,
      message: 'Request body must be JSON, sent with Content-Type: application/json',
    });
    // What `curl -d '{…}'` sends without -H: a form content type.
    const form = await call(
      'POST',
      '/v1/chat/completions',
      JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
      {
        'content-type': 'application/x-www-form-urlencoded',
      },
    );
    expect(form.status).toBe(415);
    expect(form.json?.error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining('application/json'),
    });
    // Refused before any route is found, still in OpenAI's shape on /v1: bad JSON, an unknown path.
    const broken = await call('POST', '/v1/responses', '{"input": ', { 'content-type': 'application/json' });
    expect({ status: broken.status, error: broken.json?.error }).toEqual({
      status: 400,
      error: { type: 'invalid_request_error', message: expect.any(String), param: null, code: null },
    });
    expect((await call('POST', '/v1/no-such-route', {})).json?.error).toMatchObject({ type: 'not_found_error' });
    expect(await threads()).toBe(before);
    // JSON with a charset is JSON.
    expect(
      (await call('POST', '/api/thread/list', '{}', { 'content-type': 'application/json; charset=utf-8' })).status,
    ).toBe(200);
  });

  it('a field the gateway does not know is refused on its own protocols, and accepted from OpenAI clients', async () => {
    const threads = async () => ((await call('POST', '/api/thread/list', {})).json as { data: unknown[] }).data.length;
    const before = await threads();
    const typo = await call('POST', '/api/thread/start', { cwdd: '/elsewhere' });
    expect({ status: typo.status, message: typo.json?.message }).toEqual({
      status: 400,
      message: ['property cwdd should not exist'],
    });
    const chat = await call('POST', '/chat', { messages: [{ role: 'user', content: 'hi' }], streem: false });
    expect({ status: chat.status, message: chat.json?.message }).toEqual({
      status: 400,
      message: ['property streem should not exist'],
    });
    expect(await threads()).toBe(before);
    // OpenAI SDKs send fields the gateway does not model (here a newer one, and one on a message).
    const openAi = await call('POST', '/v1/chat/completions', {
      model: 'gpt-5-codex',
      messages: [{ role: 'user', content: 'hi', annotations: [] }],
      service_tier: 'auto',
    });
    expect(openAi.status).toBe(200);
  });

  it("a provider that refuses the gateway's key: 502 naming the provider's status on every protocol, never its URL", async () => {
    const providerUrl = gw.app.get(OfflineProviderHost).instance!.baseUrl;
    const expected = /the model provider refused the gateway's credentials \(HTTP 40[13]/;
    for (const status of [401, 403]) {
      const prompt = `[[status: ${status}]] refused`;
      const thread = await call('POST', '/api/thread/start', {});
      const rest = await call('POST', '/api/turn/start', {
        threadId: thread.json.thread.id,
        input: [{ type: 'text', text: prompt }],
      });
      expect({ status: rest.status, message: rest.json.message }).toEqual({
        status: 502,
        message: expect.stringMatching(expected),
      });
      const client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const chat = await client.chat.completions
        .create({ model: 'x', messages: [{ role: 'user', content: prompt }] })
        .catch((e: { status: number; message: string }) => e);
      expect(chat).toMatchObject({ status: 502, message: expect.stringMatching(expected) });
      const response = await call('POST', '/v1/responses', { input: prompt });
      expect({ status: response.status, message: response.json.error.message }).toEqual({
        status: 502,
        message: expect.stringMatching(expected),
      });
      const sse = await postSse(
        gw.url,
        '/chat',
        { messages: [{ content: prompt }] },
        { headers: { authorization: `Bearer ${TOKEN}` } },
      );
      bodies.push({ what: '/chat stream', body: sse.raw });
      expect(sse.raw).toMatch(expected);
      const h2 = connectH2(gw.app.get(AgentStreamServer).url);
      try {
        const stream = openAgentStream(h2, { headers: { authorization: `Bearer ${TOKEN}` } });
        stream.send({ type: 'user_message', content: prompt });
        const done = await stream.next((f) => f.type === 'turn_completed');
        bodies.push({ what: 'HTTP/2 frames', body: JSON.stringify(stream.frames) });
        expect(done).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(expected) } });
        stream.end();
        await stream.closed;
      } finally {
        h2.close();
      }
      bodies.push({ what: 'REST turn', body: rest.text });
    }
    expect(bodies.filter((b) => b.body.includes(providerUrl) || /127\.0\.0\.1:\d+/.test(b.body))).toEqual([]);
  });

  it('sweep: no error body seen here carries a URL of the server, a server path, a stack or codex stderr', () => {
    expect(bodies.length).toBeGreaterThan(10);
    const leaks = bodies.filter(
      (b) =>
        /https?:\/\/(127\.0\.0\.1|localhost)/.test(b.body) ||
        b.body.includes(gw.dataDir) ||
        b.body.includes(ROOT) ||
        /node_modules|\n\s+at |Stack backtrace|genericNodeError|\bERROR codex_/.test(b.body),
    );
    expect(leaks).toEqual([]);
  });
});
