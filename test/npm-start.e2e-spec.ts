import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import request from 'supertest';
import { codexPidsWith, makeDataDir, survivingCodexProcesses } from './support/harness';
import { type ListeningGateway, whenListening } from './support/process';

const ROOT = resolve(__dirname, '..');

/**
 * `npm start` exactly as the README gives it: builds, starts on the offline provider, serves probes and
 * docs; SIGTERM to its process group stops it with every codex child reaped.
 */
describe('npm start (production build and start command)', () => {
  let child: ChildProcess;
  let url: string;
  let dataDir: string;
  let gateway: ListeningGateway;

  beforeAll(async () => {
    dataDir = makeDataDir('npm-start');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      CODEX_H2_PORT: '0',
      HOST: '127.0.0.1',
      BASE_DATA_DIR: dataDir,
    };
    for (const key of ['CODEX_API_BASE_URL', 'CODEX_API_KEY', 'OPENAI_API_KEY', 'CODEX_GATEWAY_TOKEN']) delete env[key];
    child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    gateway = await whenListening(child, 'npm start');
    url = gateway.url;
  }, 180_000);

  afterAll(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  });

  it('serves /health/ready and an OpenAPI 3 document at /docs-json', async () => {
    await request(url).get('/health/ready').expect(200);
    const doc = await request(url).get('/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(gateway.output()).toMatch(/OFFLINE provider/);
  });

  it('documents every API route with request and response schemas and examples (built with the Swagger plugin)', async () => {
    const doc = (await request(url).get('/docs-json').expect(200)).body;
    const resolve = (schema: { $ref?: string }) =>
      schema.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema;
    const apiPaths = Object.keys(doc.paths).filter((p) => p.startsWith('/api/'));
    expect(apiPaths).toEqual(
      expect.arrayContaining([
        '/api/thread/start',
        '/api/thread/resume',
        '/api/thread/read',
        '/api/thread/fork',
        '/api/thread/list',
        '/api/turn/start',
        '/api/turn/interrupt',
        '/api/skills/list',
        '/api/skills/config/write',
        '/api/approvals',
        '/api/approvals/{id}',
      ]),
    );
    for (const path of apiPaths) {
      for (const [method, op] of Object.entries<any>(doc.paths[path])) {
        const ok = resolve(op.responses['200'].content['application/json'].schema);
        expect(Object.keys(ok.properties ?? {}).length).toBeGreaterThan(0);
        if (method === 'post') {
          const body = resolve(op.requestBody.content['application/json'].schema);
          const props = Object.values<any>(body.properties ?? {});
          expect(props.length).toBeGreaterThan(0);
          expect(props.some((p) => p.example !== undefined)).toBe(true);
        }
      }
    }
  });

  it('exits 0 on SIGTERM and leaves no codex process behind', async () => {
    await request(url).post('/api/thread/start').send({}).expect(200);
    expect(codexPidsWith(dataDir).length).toBeGreaterThan(0);
    // Signal the gateway's node process itself (as tini does in the image); npm then exits with its code.
    const nodePid = gateway.nodePid();
    expect(nodePid).toBeGreaterThan(0);
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    process.kill(nodePid, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(gateway.output()).toMatch(/SIGTERM received/);
    expect(await survivingCodexProcesses(dataDir)).toBe('');
  });
});
