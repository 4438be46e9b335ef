import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LoggerService } from '@nestjs/common';
import { version as CODEX_VERSION } from '@openai/codex/package.json';
import OpenAI from 'openai';
import { codexPidsWith } from './support/harness';
import { startGateway, type TestGateway } from './support/gateway';
import { TestIdentityProvider } from './support/identity-provider';
import { postSse } from './support/sse';

const REPLY = (text: string) => `Hello from the offline provider. You said: ${text}`;

async function call(
  gw: TestGateway,
  method: string,
  path: string,
  token?: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json, text };
}

async function eventually<T>(attempt: () => T | null | Promise<T | null>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await attempt();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const home = (gw: TestGateway, tenant: string) => join(gw.dataDir, 'users', tenant);
const pidsOf = (gw: TestGateway, tenant: string) => codexPidsWith(`CODEX_HOME=${home(gw, tenant)}\0`);

describe('Keycloak introspection: per-user isolation on every protocol', () => {
  const idp = new TestIdentityProvider();
  let gw: TestGateway;

  beforeAll(async () => {
    await idp.start();
    const now = Math.floor(Date.now() / 1000);
    idp.tokens.set('alice-token', { active: true, sub: 'alice', exp: now + 600 });
    idp.tokens.set('bob-token', { active: true, sub: 'bob', exp: now + 600 });
    idp.tokens.set('inactive-token', { active: false });
    idp.tokens.set('expired-token', { active: true, sub: 'alice', exp: now - 5 });
    gw = await startGateway('keycloak', {
      SECURITY_METHOD: 'Keycloak',
      KEYCLOAK_BASE_URL: idp.url,
      KEYCLOAK_REALM: idp.realm,
      KEYCLOAK_CLIENT_ID: idp.clientId,
      KEYCLOAK_CLIENT_SECRET: idp.clientSecret,
      KEYCLOAK_TIMEOUT_SECONDS: '2',
    });
  });

  afterAll(async () => {
    await gw?.close();
    await idp.stop();
  });

  it('refuses missing, inactive, expired and unknown tokens with 401; probes and docs stay open', async () => {
    for (const token of [null, 'inactive-token', 'expired-token', 'never-issued']) {
      const res = await call(gw, 'GET', '/threads', token);
      expect({ token, status: res.status }).toEqual({ token, status: 401 });
      expect(res.json).toMatchObject({ statusCode: 401 });
    }
    for (const path of ['/health/live', '/health', '/healthz', '/status', '/docs-json']) {
      expect({ path, status: (await call(gw, 'GET', path)).status }).toEqual({ path, status: 200 });
    }
    const status = await call(gw, 'GET', '/status');
    expect(status.json).toEqual({
      status: 'ok',
      codex_available: true,
      codex_version: `codex-cli ${CODEX_VERSION}`,
      api_key_configured: false,
    });
  });

  it('caches an active answer (one introspection for repeated calls)', async () => {
    const before = idp.introspections;
    for (let i = 0; i < 3; i++) expect((await call(gw, 'GET', '/threads', 'alice-token')).status).toBe(200);
    expect(idp.introspections - before).toBeLessThanOrEqual(1);
  });

  it("keeps two users apart: own threads, own CODEX_HOME and process, the other's ids are 404 everywhere", async () => {
    const a = await call(gw, 'POST', '/chat', 'alice-token', {
      messages: [{ content: 'alice secret' }],
      stream: false,
    });
    const b = await call(gw, 'POST', '/chat', 'bob-token', { messages: [{ content: 'bob secret' }], stream: false });
    expect(a.status).toBe(200);
    expect(a.json.response).toBe(REPLY('alice secret'));
    expect(b.json.response).toBe(REPLY('bob secret'));
    const aliceThread = a.json.thread_id as string;
    const bobThread = b.json.thread_id as string;

    const aliceList = (await call(gw, 'GET', '/threads', 'alice-token')).json.threads.map((t: any) => t.thread_id);
    const bobList = (await call(gw, 'GET', '/threads', 'bob-token')).json.threads.map((t: any) => t.thread_id);
    expect(aliceList).toContain(aliceThread);
    expect(aliceList).not.toContain(bobThread);
    expect(bobList).toEqual([bobThread]);
    const restList = (await call(gw, 'POST', '/api/thread/list', 'bob-token', {})).json.data.map((t: any) => t.id);
    expect(restList).toEqual([bobThread]);

    // Distinct homes on disk and distinct processes.
    expect(existsSync(join(home(gw, 'alice'), 'config.toml'))).toBe(true);
    expect(existsSync(join(home(gw, 'bob'), 'config.toml'))).toBe(true);
    const [alicePids, bobPids] = [pidsOf(gw, 'alice'), pidsOf(gw, 'bob')];
    expect(alicePids.length).toBeGreaterThan(0);
    expect(bobPids.length).toBeGreaterThan(0);
    expect(alicePids.filter((p) => bobPids.includes(p))).toEqual([]);

    // Bob tries Alice's thread on every route: each answers exactly as for an unknown id.
    const attempts: Array<[string, string, unknown]> = [
      ['GET', `/history?thread_id=${aliceThread}`, undefined],
      ['POST', '/chat', { thread_id: aliceThread, messages: [{ content: 'steal' }], stream: false }],
      ['POST', '/api/thread/read', { threadId: aliceThread, includeTurns: true }],
      ['POST', '/api/thread/resume', { threadId: aliceThread }],
      ['POST', '/api/thread/fork', { threadId: aliceThread }],
      ['POST', '/api/turn/start', { threadId: aliceThread, input: [{ type: 'text', text: 'steal' }] }],
      ['POST', '/api/turn/interrupt', { threadId: aliceThread, turnId: a.json.turn_id }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await call(gw, method, path, 'bob-token', body);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.text).not.toContain('alice secret');
    }
    const bobOpenAi = new OpenAI({ apiKey: 'bob-token', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    // alice's thread id as bob's session id names a session of bob's own: a new conversation.
    const chained = await bobOpenAi.chat.completions.create(
      { model: 'x', messages: [{ role: 'user', content: 'steal [[memory]]' }] },
      { headers: { 'X-Codex-Session-Id': aliceThread } },
    );
    expect(chained.choices[0].message.content).toBe('I can see 1 user messages in this conversation. Earlier: none.');
    const aliceOpenAi = new OpenAI({ apiKey: 'alice-token', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const response = await aliceOpenAi.responses.create({ input: 'alice response' });
    expect(await bobOpenAi.responses.retrieve(response.id).catch((e: unknown) => e)).toBeInstanceOf(
      OpenAI.NotFoundError,
    );

    // Alice still has everything.
    const history = await call(gw, 'GET', `/history?thread_id=${aliceThread}`, 'alice-token');
    expect(history.json.messages).toEqual([
      { role: 'user', content: 'alice secret', turn_id: a.json.turn_id },
      { role: 'assistant', content: REPLY('alice secret'), turn_id: a.json.turn_id },
    ]);
  });

  it('an approval of one user cannot be seen or answered by the other', async () => {
    const thread = (await call(gw, 'POST', '/api/thread/start', 'alice-token', {})).json.thread.id;
    const turn = postSse(
      gw.url,
      '/api/turn/start',
      {
        threadId: thread,
        input: [{ type: 'text', text: '[[shell: echo approve-me]]' }],
        approvalPolicy: 'untrusted',
        stream: true,
      },
      { headers: { authorization: 'Bearer alice-token' } },
    );
    const approval = await eventually(async () => {
      const list = (await call(gw, 'GET', '/api/approvals', 'alice-token')).json.data as Array<{ id: string }>;
      return list[0] ?? null;
    }, 'an approval');
    expect((await call(gw, 'GET', '/api/approvals', 'bob-token')).json.data).toEqual([]);
    expect((await call(gw, 'POST', `/api/approvals/${approval.id}`, 'bob-token', { decision: 'accept' })).status).toBe(
      404,
    );
    expect(
      (await call(gw, 'POST', `/api/approvals/${approval.id}`, 'alice-token', { decision: 'decline' })).status,
    ).toBe(200);
    const events = (await turn).events;
    expect(events.at(-1)!.json).toMatchObject({ type: 'turn.completed', status: 'completed' });
  });

  it('an identity provider that fails or cannot be reached is a 503, never a pass', async () => {
    idp.tokens.set('carol-token', { active: true, sub: 'carol', exp: Math.floor(Date.now() / 1000) + 600 });
    idp.failWith = 500;
    try {
      const res = await call(gw, 'GET', '/threads', 'carol-token');
      expect(res.status).toBe(503);
      expect(res.text).not.toContain('carol-token');
    } finally {
      idp.failWith = null;
    }
    const unreachable = await startGateway('keycloak-down', {
      SECURITY_METHOD: 'Keycloak',
      KEYCLOAK_INTROSPECTION_URL: 'http://127.0.0.1:9/introspect',
      KEYCLOAK_CLIENT_ID: 'gateway',
      KEYCLOAK_CLIENT_SECRET: 'secret',
      KEYCLOAK_TIMEOUT_SECONDS: '1',
    });
    try {
      expect((await call(unreachable, 'GET', '/threads', 'alice-token')).status).toBe(503);
      expect((await call(unreachable, 'GET', '/health/live')).status).toBe(200);
    } finally {
      await unreachable.close();
    }
  });
});

describe('JWT (JWKS) authentication', () => {
  const idp = new TestIdentityProvider();
  let gw: TestGateway;

  beforeAll(async () => {
    await idp.start();
    gw = await startGateway('jwt', {
      SECURITY_METHOD: 'JWT',
      JWT_JWKS_URL: idp.jwksUrl,
      JWT_ISSUER: idp.issuer,
      JWT_AUDIENCE: idp.audience,
    });
  });

  afterAll(async () => {
    await gw?.close();
    await idp.stop();
  });

  it('accepts a valid token as its subject and refuses expired, early, wrong-audience, wrong-issuer and badly signed ones', async () => {
    const good = await idp.sign('jane');
    const ok = await call(gw, 'POST', '/chat', good, { messages: [{ content: 'from jane' }], stream: false });
    expect(ok.status).toBe(200);
    expect(existsSync(join(home(gw, 'jane'), 'config.toml'))).toBe(true);
    const now = Math.floor(Date.now() / 1000);
    const bad: Record<string, string> = {
      expired: await idp.sign('jane', { exp: now - 120 }),
      notYetValid: await idp.sign('jane', { nbf: now + 600 }),
      wrongAudience: await idp.sign('jane', { aud: 'someone-else' }),
      wrongIssuer: await idp.sign('jane', { iss: 'https://evil.test' }),
      badlySigned: await idp.sign('jane', {}, { key: await idp.strangerKey() }),
      noSubject: await idp.sign('', {}),
      garbage: 'not.a.jwt',
    };
    for (const [name, token] of Object.entries(bad)) {
      expect({ name, status: (await call(gw, 'GET', '/threads', token)).status }).toEqual({ name, status: 401 });
    }
    expect((await call(gw, 'GET', '/threads')).status).toBe(401);
  });

  it('follows key rotation: a token signed with a newly published key is accepted', async () => {
    expect((await call(gw, 'GET', '/threads', await idp.sign('jane'))).status).toBe(200);
    await idp.rotate();
    const rotated = await idp.sign('jane');
    // The key set is fetched again for an unknown key at most once a second.
    const res = await eventually(
      async () => {
        const r = await call(gw, 'GET', '/threads', rotated);
        return r.status === 200 ? r : null;
      },
      'the rotated key is accepted',
      5000,
    );
    expect(res.json.threads.length).toBeGreaterThan(0);
  });

  it('a key set that cannot be fetched is a 503', async () => {
    const down = await startGateway('jwt-down', { SECURITY_METHOD: 'JWT', JWT_JWKS_URL: 'http://127.0.0.1:9/jwks' });
    try {
      expect((await call(down, 'GET', '/threads', await idp.sign('jane'))).status).toBe(503);
    } finally {
      await down.close();
    }
  });
});

describe('MAX_SESSIONS, idle cleanup and the simple chat API', () => {
  let gw: TestGateway;
  const warnings: string[] = [];
  const logger: LoggerService = {
    log: () => undefined,
    error: () => undefined,
    warn: (message: unknown) => void warnings.push(String(message)),
  };
  const as = (user: string) => ({ 'x-user-id': user });

  beforeAll(async () => {
    gw = await startGateway(
      'sessions',
      { MAX_SESSIONS: '2', IDLE_TIMEOUT_SECONDS: '2', CLEANUP_INTERVAL_SECONDS: '60', ALLOW_USER_ID_OVERRIDE: 'true' },
      { logger },
    );
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('warns at boot that ALLOW_USER_ID_OVERRIDE is for testing', () => {
    expect(warnings.some((w) => w.includes('ALLOW_USER_ID_OVERRIDE=true'))).toBe(true);
  });

  it('a third user gets 503 + Retry-After; after the idle timeout a slot frees; the reaped user resumes with history', async () => {
    const first = await call(
      gw,
      'POST',
      '/chat',
      null,
      { messages: [{ content: 'u1 remembers this' }], stream: false },
      as('u1'),
    );
    expect(first.status).toBe(200);
    expect(
      (await call(gw, 'POST', '/chat', null, { messages: [{ content: 'u2' }], stream: false }, as('u2'))).status,
    ).toBe(200);
    expect([pidsOf(gw, 'u1').length, pidsOf(gw, 'u2').length]).toEqual([1, 1]);
    const full = await call(gw, 'GET', '/threads', null, undefined, as('u3'));
    expect(full.status).toBe(503);
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    // Once a tenant has been idle for IDLE_TIMEOUT_SECONDS, u3 is served: the one idle the longest, u1, makes room.
    await eventually(
      async () => ((await call(gw, 'GET', '/threads', null, undefined, as('u3'))).status === 200 ? true : null),
      'u3 served',
    );
    await eventually(() => (pidsOf(gw, 'u1').length === 0 ? true : null), "u1's codex stopped");
    expect(pidsOf(gw, 'u2').length).toBe(1);
    // u1's thread resumes, with its history, in a new process.
    const again = await eventually(async () => {
      const r = await call(
        gw,
        'POST',
        '/chat',
        null,
        { thread_id: first.json.thread_id, messages: [{ content: '[[memory]] what did I say' }], stream: false },
        as('u1'),
      );
      return r.status === 200 ? r : null;
    }, 'u1 served again');
    expect(again.json.response).toBe(
      'I can see 2 user messages in this conversation. Earlier: 1) "u1 remembers this".',
    );
  });

  it('two concurrent /chat streams of one user on different threads each get only their own text', async () => {
    const user = as('u2');
    const stream = (word: string) =>
      postSse(gw.url, '/chat', { messages: [{ content: `[[deltas: 6]] [[delay: 40]] ${word}` }] }, { headers: user });
    const [left, right] = await eventually(async () => {
      const both = await Promise.all([stream('alpha'), stream('omega')]);
      return both.every((r) => r.status === 200) ? both : null;
    }, 'both streams served');
    for (const [res, word] of [
      [left, 'alpha'],
      [right, 'omega'],
    ] as const) {
      expect(res.events[0]).toMatchObject({
        event: 'session',
        json: { type: 'session', thread_id: expect.any(String) },
      });
      const text = res.events
        .filter((e) => e.event === 'item.delta' && e.json.kind === 'text')
        .map((e) => e.json.delta)
        .join('');
      expect(text).toBe(REPLY(word));
      expect(res.events.at(-1)!.data).toBe('[DONE]');
      expect(res.events.at(-2)!.json).toMatchObject({ type: 'turn.completed', status: 'completed' });
    }
    expect(left.events[0].json.thread_id).not.toBe(right.events[0].json.thread_id);
  });
});

describe('the Codex API Bridge README examples, verbatim', () => {
  it('new conversation (streaming), continue, list, history, non-streaming, status', async () => {
    const gw = await startGateway('bridge-readme');
    try {
      const curl = async (...args: string[]) => (await promisify(execFile)('curl', ['-s', ...args])).stdout;
      const url = (path: string) => `${gw.url}${path}`;
      const streamed = await curl(
        '-N',
        '-X',
        'POST',
        url('/chat'),
        '-H',
        'Content-Type: application/json',
        '-d',
        '{"messages": [{"content": "Hello!"}]}',
      );
      const first = JSON.parse(/^data: (.*)$/m.exec(streamed)![1]);
      expect(first).toEqual({ type: 'session', thread_id: expect.any(String) });
      expect(streamed).toContain('event: item.delta');
      expect(streamed.trimEnd().endsWith('data: [DONE]')).toBe(true);
      const threadId = first.thread_id as string;
      const continued = await curl(
        '-N',
        '-X',
        'POST',
        url('/chat'),
        '-H',
        'Content-Type: application/json',
        '-d',
        `{"thread_id": "${threadId}", "messages": [{"content": "Tell me more"}]}`,
      );
      expect(continued).toContain(`"thread_id":"${threadId}"`);
      expect(continued).toContain('Tell me more');
      const list = JSON.parse(await curl(url('/threads')));
      expect(list.threads[0]).toMatchObject({ thread_id: threadId, preview: 'Hello!' });
      const history = JSON.parse(await curl(url(`/history?thread_id=${threadId}`)));
      expect(history.messages.map((m: any) => [m.role, m.content])).toEqual([
        ['user', 'Hello!'],
        ['assistant', REPLY('Hello!')],
        ['user', 'Tell me more'],
        ['assistant', REPLY('Tell me more')],
      ]);
      const plain = JSON.parse(
        await curl(
          '-X',
          'POST',
          url('/chat'),
          '-H',
          'Content-Type: application/json',
          '-d',
          '{"messages": [{"content": "What is 2+2?"}], "stream": false}',
        ),
      );
      expect(plain).toMatchObject({
        response: REPLY('What is 2+2?'),
        status: 'completed',
        thread_id: expect.any(String),
      });
      expect(plain.items.map((i: any) => i.type)).toContain('agentMessage');
      expect(JSON.parse(await curl(url('/status')))).toMatchObject({ status: 'ok', codex_available: true });
      // Bad input: clear 4xx.
      expect((await call(gw, 'POST', '/chat', null, { messages: [] })).status).toBe(400);
      expect((await call(gw, 'POST', '/chat', null, { messages: [{ content: '   ' }] })).status).toBe(400);
      expect((await call(gw, 'GET', '/history')).status).toBe(400);
      expect((await call(gw, 'GET', '/history?thread_id=not-a-thread')).status).toBe(404);
      expect((await call(gw, 'GET', '/threads?limit=0')).status).toBe(400);
    } finally {
      await gw.close();
    }
  });
});
