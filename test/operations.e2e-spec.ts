import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { getMetadataStorage } from 'class-validator';
import { parseAllDocuments } from 'yaml';
import { AppServerTransport } from '@app/codex-transport';
import { OfflineProvider } from '@app/offline-provider';
import { AgentStreamServer } from '../apps/gateway/src/agent-stream/agent-stream.server';
import { ALIASES, EnvironmentVariables } from '../apps/gateway/src/config/environment';
import { startGateway, type TestGateway } from './support/gateway';
import { codexPidsWith, makeDataDir, survivingCodexProcesses, until } from './support/harness';
import { whenListening } from './support/process';
import { postSse } from './support/sse';
import { connectH2, openAgentStream } from './support/h2';
import { PROTOCOLS, type Protocol, runTurn } from './reliability/drivers';

const ROOT = resolve(__dirname, '..');
const MAIN = join(ROOT, 'dist/apps/gateway/apps/gateway/src/main.js');

/** The value of one Prometheus sample (`name{labels}`), or null. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      (m[3] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=') as [string, string])
        .map(([k, v]) => [k, v.replace(/"/g, '')]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return null;
}

describe('metrics, limits and headers (in-process gateway)', () => {
  let gw: TestGateway;
  const TOKEN = 'operations-token';
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    gw = await startGateway('operations', {
      CODEX_GATEWAY_TOKEN: TOKEN,
      CODEX_RATE_LIMIT_PER_MINUTE: '40',
      CODEX_CORS_ORIGINS: 'https://app.example',
    });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('/metrics after traffic: request counters by route and status, TTFT and turn histograms, gauges', async () => {
    const thread: any = await (
      await fetch(`${gw.url}/api/thread/start`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{}',
      })
    ).json();
    const streamed = await postSse(
      gw.url,
      '/api/turn/start',
      { threadId: thread.thread.id, input: [{ type: 'text', text: 'measure me' }], stream: true },
      { headers: auth },
    );
    expect(streamed.status).toBe(200);
    const client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'count me' }] });
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${gw.url}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    const text = await res.text();
    expect(
      sample(text, 'codex_gateway_http_requests_total', { method: 'POST', route: '/api/turn/start', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'codex_gateway_http_requests_total', {
        method: 'POST',
        route: '/v1/chat/completions',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'codex_gateway_http_requests_total', { method: 'GET', route: '/metrics', status: '401' })).toBe(
      1,
    );
    expect(sample(text, 'codex_gateway_time_to_first_token_seconds_count', { protocol: 'rest' })).toBe(1);
    expect(sample(text, 'codex_gateway_time_to_first_token_seconds_count', { protocol: 'openai_chat' })).toBe(1);
    expect(sample(text, 'codex_gateway_turn_duration_seconds_count', { protocol: 'rest', status: 'completed' })).toBe(
      1,
    );
    expect(sample(text, 'codex_gateway_turns_total', { protocol: 'openai_chat', status: 'completed' })).toBe(1);
    expect(sample(text, 'codex_gateway_turns_running')).toBe(0);
    expect(sample(text, 'codex_gateway_codex_processes', { state: 'idle' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'codex_gateway_approvals_pending')).toBe(0);
    expect(sample(text, 'codex_gateway_open_streams', { kind: 'sse' })).toBe(0);
    expect(sample(text, 'codex_gateway_provider_errors_total', { protocol: 'rest' })).toBeNull();
    // Raw paths (ids) never become labels.
    expect(text).not.toContain(thread.thread.id);
  });

  it('gauges while they are up (a running turn, its SSE and HTTP/2 streams, a pending approval), counters after their events', async () => {
    const metrics = async () => (await fetch(`${gw.url}/metrics`, { headers: auth })).text();
    const post = async (path: string, body: unknown) =>
      (await (
        await fetch(`${gw.url}${path}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as any;
    const transport = gw.app.get(AppServerTransport);
    // A turn that does not end until it is interrupted, streamed over SSE; an HTTP/2 stream held open beside it.
    const thread = await post('/api/thread/start', {});
    let turnId = '';
    const streaming = postSse(
      gw.url,
      '/api/turn/start',
      { threadId: thread.thread.id, input: [{ type: 'text', text: '[[stall: 1]] held' }] },
      {
        headers: auth,
        until: (events) => {
          turnId ||= events.find((e) => e.event === 'item.delta')?.json.turnId ?? '';
          return false;
        },
      },
    );
    await until(() => turnId !== '', 'the turn streams');
    const h2 = connectH2(gw.app.get(AgentStreamServer).url);
    const stream = openAgentStream(h2, { headers: auth });
    stream.send({ type: 'ping' });
    await stream.next((f) => f.type === 'heartbeat');
    let text = await metrics();
    expect(sample(text, 'codex_gateway_turns_running')).toBe(1);
    expect(sample(text, 'codex_gateway_open_streams', { kind: 'sse' })).toBe(1);
    expect(sample(text, 'codex_gateway_open_streams', { kind: 'http2' })).toBe(1);
    expect(sample(text, 'codex_gateway_codex_processes', { state: 'busy' })).toBe(1);
    await post('/api/turn/interrupt', { threadId: thread.thread.id, turnId });
    await streaming;
    stream.end();
    await stream.closed;
    h2.close();
    // A pending approval.
    const asking = await post('/api/thread/start', { approvalPolicy: 'untrusted' });
    const approvalTurn = postSse(
      gw.url,
      '/api/turn/start',
      { threadId: asking.thread.id, input: [{ type: 'text', text: '[[shell: echo counted]]' }] },
      { headers: auth },
    );
    await until(() => transport.listApprovals('default').length === 1, 'the approval is pending');
    expect(sample(await metrics(), 'codex_gateway_approvals_pending')).toBe(1);
    await post(`/api/approvals/${transport.listApprovals('default')[0].id}`, { decision: 'decline' });
    await approvalTurn;
    text = await metrics();
    for (const [name, labels] of [
      ['codex_gateway_turns_running', {}],
      ['codex_gateway_approvals_pending', {}],
      ['codex_gateway_open_streams', { kind: 'sse' }],
      ['codex_gateway_open_streams', { kind: 'http2' }],
    ] as const) {
      expect({ name, labels, value: sample(text, name, labels) }).toEqual({ name, labels, value: 0 });
    }
    // A provider error, counted by protocol; a codex process that dies, counted as a restart.
    const restartsBefore = sample(text, 'codex_gateway_codex_process_restarts');
    const failing = await post('/api/thread/start', {});
    await postSse(
      gw.url,
      '/api/turn/start',
      { threadId: failing.thread.id, input: [{ type: 'text', text: '[[status: 500]] fail' }] },
      { headers: auth },
    );
    expect(sample(await metrics(), 'codex_gateway_provider_errors_total', { protocol: 'rest' })).toBe(1);
    process.kill(transport.processes().find((p) => p.tenant === 'default')!.pid!, 'SIGKILL');
    await until(() => !transport.processes().some((p) => p.tenant === 'default' && p.pid), 'the gateway noticed');
    expect(sample(await metrics(), 'codex_gateway_codex_process_restarts')).toBe((restartsBefore ?? 0) + 1);
  });

  it('rate limit per tenant: 429 with Retry-After and the right body on every surface; probes are not counted', async () => {
    const limited = await startGateway('rate-limit', {
      CODEX_RATE_LIMIT_PER_MINUTE: '3',
      CODEX_GATEWAY_TOKENS: 'ann:token-of-ann,ben:token-of-ben',
    });
    try {
      const get = (path: string, token: string) =>
        fetch(`${limited.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 3; i++) expect((await get('/threads', 'token-of-ann')).status).toBe(200);
      const over = await get('/threads', 'token-of-ann');
      expect(over.status).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await over.json()).toMatchObject({
        statusCode: 429,
        message: expect.stringMatching(/too many requests/i),
      });
      const openai = await get('/v1/models', 'token-of-ann');
      expect(openai.status).toBe(429);
      expect(await openai.json()).toMatchObject({
        error: { type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' },
      });
      // Another tenant has its own budget; probes are never limited.
      expect((await get('/threads', 'token-of-ben')).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await fetch(`${limited.url}/health/live`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('body limit 413, security headers, CORS only for the configured origins', async () => {
    const huge = await fetch(`${gw.url}/api/thread/read`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ threadId: 'x'.repeat(11 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ statusCode: 413, message: 'Request body is too large' });
    const live = await fetch(`${gw.url}/health/live`);
    expect(live.headers.get('x-content-type-options')).toBe('nosniff');
    expect(live.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(live.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect((await fetch(`${gw.url}/docs`)).status).toBe(200);
    const allowed = await fetch(`${gw.url}/v1/models`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await fetch(`${gw.url}/v1/models`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps an idle keep-alive connection past 5 s (load balancers reuse connections for up to 60 s)', async () => {
    const { connect } = await import('node:net');
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('utf8')));
    const ask = () => socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const answers = () => received.split('HTTP/1.1 200 OK').length - 1;
    ask();
    for (let i = 0; i < 100 && answers() < 1; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 5500));
    expect(socket.destroyed).toBe(false);
    ask();
    for (let i = 0; i < 100 && answers() < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(answers()).toBe(2);
    socket.destroy();
  });

  it('METRICS_PUBLIC=true opens /metrics without credentials', async () => {
    const open = await startGateway('metrics-public', { CODEX_GATEWAY_TOKEN: TOKEN, METRICS_PUBLIC: 'true' });
    try {
      expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
      expect((await fetch(`${open.url}/threads`)).status).toBe(401);
    } finally {
      await open.close();
    }
  });
});

describe('the production process: JSON logs without secrets, graceful drain', () => {
  const provider = new OfflineProvider();
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    await provider.start();
  }, 180_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await provider.stop();
  });

  function start(label: string, env: Record<string, string>) {
    const dataDir = makeDataDir(label);
    const childEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HOST: '127.0.0.1',
      PORT: '0',
      CODEX_H2_PORT: '0',
      BASE_DATA_DIR: dataDir,
      ...env,
    };
    const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return { child, dataDir, listening: whenListening(child, label) };
  }

  it('writes one JSON object per line, with request and turn ids, and never a token or key', async () => {
    const secrets = {
      CODEX_GATEWAY_TOKENS: 'alice:alice-secret-token-1,bob:bob-secret-token-2',
      CODEX_API_KEY: 'sk-provider-secret-key-123',
      KEYCLOAK_CLIENT_SECRET: 'kc-client-secret-456',
    };
    const { child, listening } = start('logs', {
      ...secrets,
      CODEX_API_BASE_URL: provider.baseUrl,
      CODEX_DEBUG_LOG: 'true',
      LOG_LEVEL: 'debug',
    });
    const gw = await listening;
    const client = new OpenAI({ apiKey: 'alice-secret-token-1', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const reply = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'log me' }] });
    expect(reply.choices[0].message.content).toContain('log me');
    // The provider key reached the provider (so it was in use) ...
    expect(provider.requests.at(-1)!.authorized).toBe(true);
    // ... and bad credentials are refused without being written down.
    await fetch(`${gw.url}/threads`, { headers: { authorization: 'Bearer bob-secret-token-2-wrong' } });
    await fetch(`${gw.url}/threads`, { headers: { 'x-api-key': 'bob-secret-token-2' } });
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const output = gw.output();
    for (const value of [
      'alice-secret-token-1',
      'bob-secret-token-2',
      'sk-provider-secret-key-123',
      'kc-client-secret-456',
    ]) {
      expect({ value, found: output.includes(value) }).toEqual({ value, found: false });
    }
    const lines = output.split('\n').filter((l) => l.trim());
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const request = entries.find((e) => e.msg === 'request' && e.route === '/v1/chat/completions');
    expect(request).toMatchObject({
      level: 'info',
      tenant: 'alice',
      status: 200,
      requestId: expect.any(String),
      durationMs: expect.any(Number),
    });
    const turn = entries.find((e) => e.msg === 'turn ended');
    expect(turn).toMatchObject({
      protocol: 'openai_chat',
      tenant: 'alice',
      status: 'completed',
      threadId: expect.any(String),
      turnId: expect.any(String),
    });
    expect(turn!.requestId).toBe(request!.requestId);
  });

  it('SIGTERM during a streaming turn: readiness 503 at once, new work 503, the stream ends with a terminal event, exit 0, no codex left', async () => {
    const { child, dataDir, listening } = start('drain', { SHUTDOWN_GRACE_SECONDS: '2' });
    const gw = await listening;
    const thread: any = await (
      await fetch(`${gw.url}/api/thread/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
    ).json();
    let signalled = 0;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const stream = postSse(
      gw.url,
      '/api/turn/start',
      { threadId: thread.thread.id, input: [{ type: 'text', text: '[[slow]] long' }], stream: true },
      {
        until: (events) => {
          if (!signalled && events.some((e) => e.event === 'item.delta')) {
            signalled = Date.now();
            child.kill('SIGTERM');
          }
          return false;
        },
      },
    );
    // Readiness turns 503 and new work is refused while the turn drains.
    let ready = 0;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && ready !== 503;) {
      await new Promise((r) => setTimeout(r, 50));
      if (signalled) ready = (await fetch(`${gw.url}/health/ready`).catch(() => ({ status: 0 }))).status;
    }
    expect(ready).toBe(503);
    expect(codexPidsWith(dataDir).length).toBeGreaterThan(0);
    const refused = await fetch(`${gw.url}/api/thread/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    const result = await stream;
    const last = result.events.at(-1)!;
    expect(last.json).toMatchObject({ type: 'turn.completed' });
    expect(['failed', 'interrupted']).toContain(last.json.status);
    expect(await exited).toBe(0);
    expect(await survivingCodexProcesses(dataDir)).toBe('');
    expect(gw.output()).toMatch(/SIGTERM received: draining/);
    expect(gw.output()).toMatch(/grace period over: interrupting 1 running turn/);
  });

  it('SIGTERM mid-stream on every protocol: every open stream ends with its terminal event, the process exits 0, no codex process remains', async () => {
    const dataDir = makeDataDir('drain-all');
    const child = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        PORT: '0',
        CODEX_H2_PORT: '0',
        BASE_DATA_DIR: dataDir,
        SHUTDOWN_GRACE_SECONDS: '1',
        CODEX_MAX_CONCURRENCY: '8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const gw = await whenListening(child, 'drain-all');
      for (let i = 0; i < 100 && !/agent stream \(HTTP\/2, cleartext\) on (http:\/\/[^/]+)/.test(gw.output()); i++)
        await new Promise((r) => setTimeout(r, 50));
      const h2Url = /agent stream \(HTTP\/2, cleartext\) on (http:\/\/[^/]+)/.exec(gw.output())![1];
      const h2 = connectH2(h2Url);
      const target = { url: gw.url, h2, headers: {} };
      const started = new Set<Protocol>();
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const outcomes = PROTOCOLS.map((protocol) =>
        runTurn(protocol, target, '[[slow]] interrupted by shutdown', {
          until: (events) => {
            if (events.length >= 3) started.add(protocol);
            return false;
          },
        }),
      );
      for (let i = 0; i < 400 && started.size < PROTOCOLS.length; i++) await new Promise((r) => setTimeout(r, 25));
      expect([...started].sort()).toEqual([...PROTOCOLS].sort());
      expect(codexPidsWith(dataDir).length).toBeGreaterThan(0);
      child.kill('SIGTERM');
      const ends = await Promise.all(outcomes);
      ends.forEach((end, i) => {
        expect({ protocol: PROTOCOLS[i], ended: !['no-terminal', 'aborted'].includes(end.terminal) }).toEqual({
          protocol: PROTOCOLS[i],
          ended: true,
        });
      });
      h2.close();
      expect(await exited).toBe(0);
      expect(await survivingCodexProcesses(dataDir)).toBe('');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('compose and Kubernetes files', () => {
  const known = new Set([
    ...getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
      .map((m) => m.propertyName),
    ...Object.keys(ALIASES),
  ]);

  function documents(file: string): any[] {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const d of docs) expect({ file, errors: d.errors.map(String) }).toEqual({ file, errors: [] });
    return docs.map((d) => d.toJS());
  }

  it('every env name, port and probe path in them exists in the app', async () => {
    const gw = await startGateway('manifests');
    let paths: Record<string, Record<string, unknown>>;
    try {
      paths = ((await (await fetch(`${gw.url}/docs-json`)).json()) as { paths: typeof paths }).paths;
    } finally {
      await gw.close();
    }
    const compose = documents(join(ROOT, 'docker-compose.yml'))[0];
    const service = compose.services['codex-gateway'];
    for (const name of Object.keys(service.environment))
      expect({ name, known: known.has(name) }).toEqual({ name, known: true });
    const containerPorts = service.ports.map((p: string) => Number(p.split(':').at(-1)));
    expect(containerPorts.sort()).toEqual(
      [Number(service.environment.PORT), Number(service.environment.CODEX_H2_PORT)].sort(),
    );

    const k8s = readdirSync(join(ROOT, 'docker/k8s'))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => documents(join(ROOT, 'docker/k8s', f)));
    expect(k8s.map((d) => d.kind).sort()).toEqual([
      'Ingress',
      'PodDisruptionBudget',
      'Service',
      'Service',
      'StatefulSet',
    ]);
    const set = k8s.find((d) => d.kind === 'StatefulSet');
    const container = set.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    for (const name of Object.keys(env)) expect({ name, known: known.has(name) }).toEqual({ name, known: true });
    const ports = Object.fromEntries(
      container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
    );
    expect(ports).toEqual({ http: Number(env.PORT), h2: Number(env.CODEX_H2_PORT) });
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const get = container[probe].httpGet;
      expect(ports[get.port]).toBeDefined();
      expect({ probe, documented: Boolean(paths[get.path]?.get) }).toEqual({ probe, documented: true });
    }
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(set.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(env.SHUTDOWN_GRACE_SECONDS));
    expect(set.spec.volumeClaimTemplates[0].metadata.name).toBe(container.volumeMounts[0].name);
    expect(container.volumeMounts[0].mountPath).toBe(env.BASE_DATA_DIR);
    const svc = k8s.find((d) => d.kind === 'Service' && d.metadata.name === 'codex-gateway');
    expect(svc.spec.ports.map((p: { targetPort: string }) => p.targetPort).sort()).toEqual(['h2', 'http']);
    const ingress = k8s.find((d) => d.kind === 'Ingress');
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/upstream-hash-by']).toContain(
      '$http_authorization',
    );
    expect(ingress.spec.rules[0].http.paths[0].backend.service.name).toBe(svc.metadata.name);
    const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health\/live/);
    expect(dockerfile).toMatch(/EXPOSE 8000 8001/);
  });
});
