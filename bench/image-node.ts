/** The container image's Node: its major (read from docker/Dockerfile) and that Node's binary, installed on demand. */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');
const DOCKERFILE = join(ROOT, 'docker', 'Dockerfile');

/** The Node major of the image's runtime stage (`FROM node:<major>-…`). */
export function imageNodeMajor(dockerfile = readFileSync(DOCKERFILE, 'utf8')): number {
  const majors = [...dockerfile.matchAll(/^FROM\s+node:(\d+)\b/gim)].map((m) => Number(m[1]));
  if (majors.length === 0) throw new Error('docker/Dockerfile names no node:<major> base image');
  return majors[majors.length - 1];
}

/**
 * Node's own binary of the image's major, from the npm registry's `node-<platform>-<arch>` package,
 * installed once under `dir` (not into node_modules, where its `node` would shadow the one running npm).
 */
export async function imageNode(dir: string): Promise<string> {
  const major = imageNodeMajor();
  const prefix = join(dir, `node${major}`);
  const pkg = `node-${process.platform}-${process.arch}`;
  const binary = join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true });
    await run('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `${pkg}@${major}`], {
      cwd: prefix,
    });
  }
  return binary;
}

/** The Node binary for a `--node` option (image, current or a path), its version and where it comes from. */
export async function resolveGatewayNode(option: string): Promise<{ path: string; version: string; what: string }> {
  if (option === 'current')
    return { path: process.execPath, version: process.version, what: 'the one running the benchmark' };
  let path = option;
  if (option === 'image') {
    try {
      path = await imageNode(join(ROOT, '.test-data'));
    } catch (error) {
      throw new Error(
        `could not install the image's Node (${(error as Error).message.split('\n')[0]}); run with --node current to use this one`,
        { cause: error },
      );
    }
  }
  let version: string;
  try {
    version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
  } catch (error) {
    throw new Error(`--node ${option}: cannot run it (${(error as Error).message})`, { cause: error });
  }
  return { path, version, what: option === 'image' ? "the container image's, from docker/Dockerfile" : path };
}
