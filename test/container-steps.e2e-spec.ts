import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { makeDataDir, survivingCodexProcesses } from './support/harness';
import { type ListeningGateway, whenListening } from './support/process';

const ROOT = resolve(__dirname, '..');
const run = promisify(execFile);

/** The runtime stage of docker/Dockerfile: its ENV and CMD, read from the file so the test follows it. */
function runtimeStage(): { env: Record<string, string>; cmd: string[] } {
  const text = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8');
  const runtime = text.slice(text.lastIndexOf('FROM '));
  const env: Record<string, string> = {};
  const envBlock = /^ENV ((?:.*\\\n)*.*)$/m.exec(runtime)?.[1] ?? '';
  for (const m of envBlock.matchAll(/([A-Z_]+)=(\S+)/g)) env[m[1]] = m[2];
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)![1]) as string[];
  return { env, cmd };
}

/**
 * The image's steps without Docker: production build, a copy with production dependencies only
 * (`npm ci --omit=dev`), then the image's command and environment as an unprivileged user.
 */
describe('container image steps (outside Docker)', () => {
  let dir: string;
  let child: ChildProcess;
  let gateway: ListeningGateway;

  beforeAll(async () => {
    const { env, cmd } = runtimeStage();
    dir = makeDataDir('image');
    await run('npx', ['nest', 'build'], { cwd: ROOT });
    for (const entry of ['dist', 'package.json', 'package-lock.json']) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    const data = join(dir, 'data');
    mkdirSync(data);
    chmodSync(dir, 0o755);
    // As `nobody` when we are root and `nobody` can reach the copy (a checkout under a private
    // directory cannot be); otherwise as ourselves.
    const asNobody =
      process.getuid?.() === 0 &&
      (await run('runuser', ['-u', 'nobody', '--', 'test', '-r', join(dir, 'package.json')]).then(
        () => true,
        () => false,
      ));
    if (asNobody) await run('chown', ['-R', 'nobody:nogroup', data]);
    const childEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...env,
      // Tests bind loopback only; the image binds 0.0.0.0.
      HOST: '127.0.0.1',
      PORT: '0',
      CODEX_H2_PORT: '0',
      BASE_DATA_DIR: data,
      HOME: data,
    };
    const [bin, ...args] = asNobody ? ['runuser', '-u', 'nobody', '--', ...cmd] : cmd;
    child = spawn(bin, args, { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    gateway = await whenListening(child, 'gateway');
  }, 300_000);

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true }); // half a gigabyte of production node_modules
  });

  it('is ready and runs a turn with production dependencies only', async () => {
    await request(gateway.url).get('/health/ready').expect(200);
    const res = await request(gateway.url)
      .post('/v1/chat/completions')
      .send({ model: 'gpt-5-codex', messages: [{ role: 'user', content: '[[reply: from the image]]' }] })
      .expect(200);
    expect(res.body.choices[0].message.content).toBe('from the image');
  });

  it('stops cleanly on SIGTERM (exit 0, no codex left)', async () => {
    const nodePid = gateway.nodePid();
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    process.kill(nodePid, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(await survivingCodexProcesses(dir)).toBe('');
  });
});
