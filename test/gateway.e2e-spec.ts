import request from 'supertest';
import { lastValueFrom, toArray } from 'rxjs';
import { AppServerTransport } from '@app/codex-transport';
import { OfflineProviderHost } from '../apps/gateway/src/codex/offline-provider.host';
import { agentText, codexPidsWith, survivingCodexProcesses } from './support/harness';
import { startGateway, type TestGateway } from './support/gateway';

describe('gateway skeleton (in-process, real codex, offline provider)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway('gateway');
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('answers liveness and readiness probes', async () => {
    const live = await request(gw.url).get('/health/live').expect(200);
    expect(live.body.status).toBe('ok');
    const ready = await request(gw.url).get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { codex: { status: 'up', binary: 'found', process: 'initialized' }, dataDir: { status: 'up' } },
    });
    expect(JSON.stringify(ready.body)).not.toContain(gw.dataDir);
  });

  it('keeps the compatibility health routes of the seeds', async () => {
    await request(gw.url).get('/health').expect(200, { status: 'healthy' });
    await request(gw.url).post('/health').expect(200, { status: 'healthy', service: 'codex-gateway' });
    await request(gw.url).get('/healthz').expect(200, { status: 'ok' });
  });

  it('serves an OpenAPI 3 document and the Swagger UI', async () => {
    const doc = await request(gw.url).get('/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.info.title).toBe('Codex Gateway');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/health/live', '/health/ready', '/health', '/healthz']),
    );
    const ui = await request(gw.url).get('/docs').expect(200);
    expect(ui.text).toContain('swagger');
  });

  it('gives every response a request id and echoes a well-formed one', async () => {
    const generated = await request(gw.url).get('/health');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await request(gw.url).get('/health').set('X-Request-Id', 'abc-123');
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    // An ill-formed one is replaced by a new id (a UUID may itself hold "bad": compare with the whole value).
    const refused = await request(gw.url).get('/health').set('X-Request-Id', 'bad id\twith tab');
    expect(refused.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(refused.headers['x-request-id']).not.toBe(generated.headers['x-request-id']);
  });

  it('answers unknown routes and malformed bodies with clear 4xx JSON errors', async () => {
    const missing = await request(gw.url).get('/nope').expect(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    const bad = await request(gw.url)
      .post('/health')
      .set('Content-Type', 'application/json')
      .send('{"broken":')
      .expect(400);
    expect(bad.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(bad.body.message).toMatch(/JSON/);
    const huge = await request(gw.url)
      .post('/health')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ pad: 'x'.repeat(11 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ statusCode: 413 });
  });

  it('runs turns on the in-process offline provider when no provider is configured', async () => {
    const host = gw.app.get(OfflineProviderHost);
    expect(host.enabled).toBe(true);
    expect(host.instance?.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const transport = gw.app.get(AppServerTransport);
    const { thread } = await transport.startThread('default');
    const events = await lastValueFrom(
      transport
        .runTurn('default', { threadId: thread.id, input: [{ type: 'text', text: '[[reply: wired up]]' }] })
        .pipe(toArray()),
    );
    expect(agentText(events)).toBe('wired up');
    expect(host.instance!.requests.length).toBeGreaterThan(0);
    expect(host.instance!.requests.every((r) => !r.authorized)).toBe(true);
  });

  it('reaps every codex child when the app closes', async () => {
    const other = await startGateway('gateway-close');
    let closed = false;
    try {
      const transport = other.app.get(AppServerTransport);
      await transport.startThread('default');
      expect(codexPidsWith(other.dataDir).length).toBeGreaterThan(0);
      await other.close();
      closed = true;
      expect(await survivingCodexProcesses(other.dataDir)).toBe('');
    } finally {
      if (!closed) await other.close();
    }
  });
});

describe('gateway readiness without a codex binary', () => {
  it('reports 503 with a reason that leaks no path', async () => {
    const gw = await startGateway('no-binary', { CODEX_BINARY_PATH: '/nonexistent/codex-binary' });
    try {
      const ready = await request(gw.url).get('/health/ready').expect(503);
      expect(ready.body.error.codex).toEqual({ status: 'down', message: 'codex binary not found' });
      expect(JSON.stringify(ready.body)).not.toContain('/nonexistent');
      await request(gw.url).get('/health/live').expect(200);
    } finally {
      await gw.close();
    }
  });
});

describe('token authentication', () => {
  it('leaves probes open and guards everything else, comparing tokens per tenant', async () => {
    const gw = await startGateway('auth-token', { CODEX_GATEWAY_TOKENS: 'alice:alice-token-1,bob:bob-token-22' });
    try {
      for (const path of ['/health/live', '/health/ready', '/health', '/healthz', '/docs-json']) {
        await request(gw.url).get(path).expect(200);
      }
      await request(gw.url).post('/health').expect(200);
      const missing = await request(gw.url).post('/api/thread/list').send({}).expect(401);
      expect(missing.body).toMatchObject({ statusCode: 401, message: 'Missing bearer token' });
      await request(gw.url).post('/api/thread/list').set('Authorization', 'Bearer alice-token-2').send({}).expect(401);
      await request(gw.url).get('/api/approvals').set('Authorization', 'Basic YWxpY2U6eA==').expect(401);
      // Every 401 says how to authenticate (RFC 9110), on every protocol of the HTTP listener.
      for (const [method, path] of [
        ['post', '/api/thread/list'],
        ['get', '/threads'],
        ['post', '/v1/chat/completions'],
        ['get', '/v1/models'],
        ['post', '/mcp'],
        ['get', '/metrics'],
      ] as const) {
        const refused = await request(gw.url)[method](path).send({});
        expect({ path, status: refused.status, challenge: refused.headers['www-authenticate'] }).toEqual({
          path,
          status: 401,
          challenge: 'Bearer realm="codex-gateway"',
        });
      }
      const alice = await request(gw.url)
        .post('/api/thread/start')
        .set('Authorization', 'Bearer alice-token-1')
        .send({})
        .expect(200);
      // Bob's tenant does not see Alice's thread.
      await request(gw.url)
        .post('/api/thread/read')
        .set('X-API-Key', 'bob-token-22')
        .send({ threadId: alice.body.thread.id })
        .expect(404);
      await request(gw.url)
        .post('/api/thread/read')
        .set('Authorization', 'Bearer alice-token-1')
        .send({ threadId: alice.body.thread.id })
        .expect(200);
    } finally {
      await gw.close();
    }
  });
});
