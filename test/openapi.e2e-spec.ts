import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { ensureBuilt, MAIN_JS, ROOT } from './support/build';
import { makeDataDir } from './support/harness';
import { type ProductionGateway, startProductionGateway } from './support/process';

const run = promisify(execFile);
const TOKEN = 'openapi-token-123456';
const METHODS = ['get', 'post', 'put', 'delete', 'patch'];
/** Routes that need no credentials, whatever the configuration. */
const OPEN = ['GET /health/live', 'GET /health/ready', 'GET /health', 'POST /health', 'GET /healthz', 'GET /status'];
/**
 * Warnings of redocly's recommended rules kept on purpose (README, "OpenAPI"): the open probes and status
 * have no client error to declare.
 */
const DELIBERATE_WARNINGS = [
  ...OPEN.map((route) => {
    const [method, path] = route.split(' ');
    return `operation-4xx-response #/paths/${path.replace(/\//g, '~1')}/${method.toLowerCase()}/responses`;
  }),
  // The gateway is not published under a license.
  'info-license #/info',
];

/**
 * The production build: the Swagger CLI plugin builds the request and response schemas from the DTOs at
 * compile time (`nest build`), so only the built gateway serves the document clients see.
 */
async function production(label: string, env: NodeJS.ProcessEnv = {}): Promise<ProductionGateway> {
  await ensureBuilt();
  const dataDir = makeDataDir(label);
  return startProductionGateway(
    { PATH: process.env.PATH, HOME: dataDir, BASE_DATA_DIR: dataDir, ...env },
    { cwd: ROOT, main: MAIN_JS },
  );
}

function operations(doc: any): Array<{ route: string; op: any }> {
  return Object.entries<any>(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ route: `${m.toUpperCase()} ${path}`, op: item[m] })),
  );
}

describe('OpenAPI document a client generator can trust (token-protected gateway)', () => {
  let gw: ProductionGateway;
  let dir: string;
  let doc: any;

  beforeAll(async () => {
    gw = await production('openapi', { CODEX_GATEWAY_TOKEN: TOKEN });
    dir = makeDataDir('openapi-client');
    doc = (await request(gw.url).get('/docs-json').expect(200)).body;
  }, 120_000);

  afterAll(async () => {
    expect(await gw?.stop()).toBe(0);
  });

  it('declares the security of every operation as the guard enforces it, with both credential schemes', async () => {
    expect(doc.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      'api-key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
    });
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    for (const { route, op } of operations(doc)) {
      expect({ route, security: op.security }).toEqual({
        route,
        security: OPEN.includes(route) ? [] : [{ bearer: [] }, { 'api-key': [] }],
      });
    }
    // What the document says holds: a secured route refuses no credentials (with the challenge it declares)
    // and takes either scheme.
    const refused = await request(gw.url).post('/api/thread/list').send({}).expect(401);
    const declared = doc.paths['/api/thread/list'].post.responses['401'].headers['WWW-Authenticate'];
    expect(refused.headers['www-authenticate']).toBe(declared.schema.example);
    await request(gw.url).post('/api/thread/list').set('X-API-Key', TOKEN).send({}).expect(200);
    await request(gw.url).post('/api/thread/list').set('Authorization', `Bearer ${TOKEN}`).send({}).expect(200);
    for (const route of OPEN) {
      const [method, path] = route.split(' ');
      expect((await request(gw.url)[method.toLowerCase() as 'get' | 'post'](path)).status).toBeLessThan(500);
    }
  });

  it('passes redocly lint with the recommended rules: no error, and only the warnings kept on purpose', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const lint = await run('npx', ['redocly', 'lint', file, '--extends', 'recommended', '--format', 'json'], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout: string }) => error);
    const problems = (
      JSON.parse(lint.stdout).problems as Array<{
        severity: string;
        ruleId: string;
        location: Array<{ pointer: string }>;
      }>
    ).map((p) => `${p.severity} ${p.ruleId} ${p.location[0].pointer}`);
    expect(problems.filter((p) => p.startsWith('error'))).toEqual([]);
    expect(problems.map((p) => p.replace(/^warn /, '')).sort()).toEqual([...DELIBERATE_WARNINGS].sort());
  }, 60_000);

  it('a client generated from the live document (openapi-typescript + openapi-fetch) runs a REST turn and a Chat Completion', async () => {
    await run('npx', ['openapi-typescript', `${gw.url}/docs-json`, '--output', join(dir, 'api.ts')], { cwd: ROOT });
    writeFileSync(
      join(dir, 'client.ts'),
      `import createClient from 'openapi-fetch';
import type { paths } from './api';

async function main(): Promise<void> {
  const baseUrl = process.env.GATEWAY_URL!;
  // The JSON answers (the streaming routes also answer server-sent events).
  const client = createClient<paths, 'application/json'>({ baseUrl, headers: { authorization: \`Bearer \${process.env.GATEWAY_TOKEN}\` } });
  const started = await client.POST('/api/thread/start', { body: {} });
  if (!started.data) throw new Error(\`thread/start: \${started.response.status}\`);
  const turn = await client.POST('/api/turn/start', {
    body: { threadId: started.data.thread.id, input: [{ type: 'text', text: '[[reply: from a generated client]]' }] },
  });
  if (!turn.data) throw new Error(\`turn/start: \${turn.response.status}\`);
  const completion = await client.POST('/v1/chat/completions', {
    body: { model: 'gpt-5-codex', messages: [{ role: 'user', content: '[[reply: generated chat]]' }] },
  });
  if (!completion.data) throw new Error(\`chat/completions: \${completion.response.status}\`);
  const anonymous = await createClient<paths, 'application/json'>({ baseUrl }).POST('/api/thread/list', { body: {} });
  process.stdout.write(
    JSON.stringify({
      turn: turn.data.turn.status,
      items: turn.data.turn.items.length,
      chat: completion.data.choices[0].message.content,
      anonymous: anonymous.response.status,
      anonymousMessage: anonymous.error?.message,
    }),
  );
}

void main();
`,
    );
    // The generated types must fit the calls (a wrong path or body fails here), then the client runs.
    await run(
      'npx',
      [
        'tsc',
        '--strict',
        '--noEmit',
        '--skipLibCheck',
        '--esModuleInterop',
        '--module',
        'commonjs',
        '--moduleResolution',
        'node',
        '--target',
        'es2021',
        join(dir, 'client.ts'),
      ],
      { cwd: ROOT },
    );
    const out = await run(
      'npx',
      ['ts-node', '--transpile-only', '--compilerOptions', '{"module":"commonjs"}', join(dir, 'client.ts')],
      {
        cwd: ROOT,
        env: { ...process.env, GATEWAY_URL: gw.url, GATEWAY_TOKEN: TOKEN },
      },
    );
    expect(JSON.parse(out.stdout)).toEqual({
      turn: 'completed',
      items: 2,
      chat: 'generated chat',
      anonymous: 401,
      anonymousMessage: 'Missing bearer token',
    });
  }, 120_000);
});

describe('OpenAPI document of a gateway without auth', () => {
  it('declares every operation open', async () => {
    const gw = await production('openapi-open');
    try {
      const doc = (await request(gw.url).get('/docs-json').expect(200)).body;
      for (const { route, op } of operations(doc))
        expect({ route, security: op.security }).toEqual({ route, security: [] });
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  }, 120_000);
});
