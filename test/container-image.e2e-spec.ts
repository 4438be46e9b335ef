import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './support/build';

const run = promisify(execFile);

/**
 * The container image, built and run for real: `docker/build-and-run.sh` builds docker/Dockerfile with
 * podman (a local stand-in for the node:22 base when there is none), runs it with loopback ports, and
 * checks readiness, a Chat Completion, an HTTP/2 turn (as uid 10001, inside the read-only sandbox), the
 * HEALTHCHECK, and a stop during a streaming request (exit 0, the stream ends with its terminal event).
 * What the script needs is installed as `.ci/run` installs it; when it cannot be, the test fails.
 */
describe('container image (docker/build-and-run.sh, podman)', () => {
  it(
    'builds, serves and stops cleanly',
    async () => {
      await run(join(ROOT, 'scripts', 'install-test-deps.sh'), [], { cwd: ROOT });
      const script = spawn(join(ROOT, 'docker', 'build-and-run.sh'), [], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      script.stdout.on('data', (c: Buffer) => (out += c.toString()));
      script.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((resolve) => script.once('exit', resolve));
      const lines = out.split('\n').filter((l) => !/level=(warning|error)/.test(l));
      const result = lines.find((l) => l.startsWith('RESULT '));
      process.stdout.write(`${lines.filter((l) => /^(ready|stopped|image|FAIL)/.test(l)).join('\n')}\n`);
      expect({ code, failures: lines.filter((l) => l.startsWith('FAIL')) }).toEqual({ code: 0, failures: [] });
      expect(JSON.parse(result!.slice('RESULT '.length))).toMatchObject({
        ok: true,
        exitCode: 0,
        imageBytes: expect.any(Number),
      });
    },
    20 * 60_000,
  );
});
