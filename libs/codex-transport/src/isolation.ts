import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve, sep } from 'node:path';
import type { ResolvedBinary } from './binary';

/**
 * What every tenant's codex is kept from, and what all tenants share. Each codex process (app-server or
 * exec) runs in a mount and PID namespace of its own (bubblewrap): the filesystem read-only, the hidden
 * directories empty but for the tenant's own home and workspace (bound back writable), the hidden files
 * empty, a private /tmp, a /proc that shows only the tenant's own processes. codex's own sandbox then
 * confines each command further (read-only, workspace-write).
 */
export interface TenantIsolation {
  /** Directories every codex sees empty: the data dir (other tenants' homes and records), the workspaces' parent. */
  hiddenDirs: string[];
  /** Files every codex sees empty (the TLS key, mounted credentials, programs masked for a faster start). */
  hiddenFiles: string[];
  /** Directories bound writable into every tenant's view (workspace roots shared on purpose, CODEX_ADD_DIRS). */
  sharedDirs: string[];
  /**
   * Files and directories every codex reads even where they lie in a hidden directory, bound back
   * read-only at the paths codex is given: the CA certificates (public by nature; a mounted secret is where
   * a platform often puts them). Each is resolved when a codex starts, so links to it (a Kubernetes secret's
   * `ca.crt` → `..data/ca.crt`) lead to the file as it is then.
   */
  publicFiles: string[];
}

/** The directories of one tenant's view: its CODEX_HOME and its workspace. */
export interface TenantView {
  home: string;
  workspace: string;
}

/** The path with every link resolved, or null when nothing is there. */
function realPathOf(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** The path with the links of its longest existing part resolved (the rest, not there yet, as it is). */
function resolvedPath(path: string): string {
  const absolute = resolve(path);
  const real = realPathOf(absolute);
  if (real) return real;
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(resolvedPath(parent), basename(absolute));
}

/** Every `name` on `path`, in its order. */
export function allOnPath(name: string, path = process.env.PATH ?? ''): string[] {
  return path
    .split(delimiter)
    .filter((dir) => dir && isFile(join(dir, name)))
    .map((dir) => join(dir, name));
}

/** The first `name` on `path`, or null (the directories after it are not looked at: it runs at every codex launch). */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir && isFile(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The directories of the codex binary and of the tools it ships (`rg`). */
export function programDirs(binary: ResolvedBinary): string[] {
  return [...new Set([dirname(binary.path), ...binary.extraPath])];
}

/** Where the agent of a tenant may be run from; null when no bubblewrap is available. */
export function findBubblewrap(binary: ResolvedBinary, path = process.env.PATH ?? ''): string | null {
  const onPath = findOnPath('bwrap', path);
  if (onPath) return onPath;
  // codex ships a bubblewrap of its own beside the binary (it uses it for its command sandbox).
  const bundled = resolve(binary.path, '..', '..', 'codex-resources', 'bwrap');
  return isFile(bundled) ? bundled : null;
}

/**
 * The bubblewrap arguments that put a codex of the tenant `view` in its own namespaces. `programDirs` (where
 * codex and the tools it ships live) are bound back read-only, so that an installation under /tmp still runs.
 */
export function isolationArgs(
  isolation: TenantIsolation,
  view: TenantView,
  cwd: string,
  programDirs: string[] = [],
): string[] {
  // A user namespace of its own even for root (which may lack the capabilities to build namespaces without one, in a container).
  const args = [
    '--die-with-parent',
    '--unshare-user',
    '--unshare-pid',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
  ];
  // Every path where it really is, links resolved: bubblewrap makes no directory and mounts nothing through a
  // link (a data directory under `/var/run` → `/run`, a workspace that is a link), and what is hidden must be
  // hidden where it lies, not where a link to it lies. Links still lead there inside the namespace.
  for (const dir of isolation.hiddenDirs) mkdirSync(dir, { recursive: true });
  for (const dir of outermost(isolation.hiddenDirs.map(resolvedPath))) args.push('--tmpfs', dir);
  for (const file of isolation.hiddenFiles)
    if (existsSync(file)) args.push('--ro-bind', '/dev/null', resolvedPath(file));
  for (const path of isolation.publicFiles) {
    const real = realPathOf(path);
    // At the path codex is given (its file name kept: it may be a link, as a Kubernetes secret's `ca.crt`).
    if (real) args.push('--ro-bind', real, join(resolvedPath(dirname(path)), basename(path)));
  }
  for (const dir of programDirs.map(resolvedPath)) args.push('--ro-bind', dir, dir);
  for (const dir of [view.home, view.workspace, ...isolation.sharedDirs]) mkdirSync(dir, { recursive: true });
  const home = resolvedPath(view.home);
  for (const dir of [home, resolvedPath(view.workspace), ...isolation.sharedDirs.map(resolvedPath)])
    args.push('--bind', dir, dir);
  // codex is sent to the same real places: a link on the way may be where the namespace shows nothing (under
  // the private /tmp, in a hidden directory).
  args.push('--setenv', 'CODEX_HOME', home, '--chdir', resolvedPath(cwd), '--');
  return args;
}

/**
 * Runs `true` in a view like a tenant's, as codex would be run: null when it works, else why not (for
 * example a platform without unprivileged user namespaces).
 */
export function isolationUnavailable(
  bwrap: string | null,
  isolation: TenantIsolation,
  probe: TenantView,
): string | null {
  if (!bwrap) return 'no bubblewrap (bwrap) found on PATH or beside the codex binary';
  const result = spawnSync(bwrap, [...isolationArgs(isolation, probe, probe.workspace), 'true'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.error) return `${bwrap}: ${result.error.message}`;
  if (result.status !== 0)
    return `${bwrap} exited with ${result.status}: ${(result.stderr ?? '').trim().split('\n').at(-1)}`;
  return null;
}

/** Drops directories inside another in the list (their parent's tmpfs already hides them). */
function outermost(dirs: string[]): string[] {
  const all = [...new Set(dirs.map((d) => resolve(d)))];
  return all.filter((dir) => !all.some((other) => other !== dir && (dir + sep).startsWith(other + sep)));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
