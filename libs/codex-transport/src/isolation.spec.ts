import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { allOnPath, findOnPath, isolationArgs } from './isolation';

describe('isolationArgs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'isolation-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hides the data dir and secrets, then binds back only the tenant’s own directories and the shared ones', () => {
    const base = join(dir, 'data');
    const key = join(dir, 'tls.key');
    writeFileSync(key, 'secret');
    const secrets = join(dir, 'run-secrets');
    mkdirSync(secrets);
    // As Kubernetes mounts a secret: the file a link through `..data` to a directory named by its version.
    mkdirSync(join(secrets, '..v1'));
    writeFileSync(join(secrets, '..v1', 'ca.pem'), 'certificate');
    symlinkSync('..v1', join(secrets, '..data'));
    const ca = join(secrets, 'ca.pem');
    symlinkSync(join('..data', 'ca.pem'), ca);
    // …and one reached through a linked directory (as `/var/run` → `/run`).
    writeFileSync(join(secrets, 'other.pem'), 'certificate');
    symlinkSync(secrets, join(dir, 'run-link'));
    const view = { home: join(base, 'users', 'alice'), workspace: join(base, 'workspace', 'alice') };
    const args = isolationArgs(
      {
        hiddenDirs: [base, join(base, 'workspace'), join(dir, 'missing-parent', 'x'), secrets],
        hiddenFiles: [key, join(dir, 'absent')],
        sharedDirs: [join(dir, 'shared')],
        publicFiles: [ca, join(dir, 'run-link', 'other.pem'), join(secrets, 'absent.pem')],
      },
      view,
      view.workspace,
      [join(dir, 'codex', 'bin')],
    );
    const pairs = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
    // Own PID namespace and /proc, the rest of the system read-only, a private /tmp.
    expect(args.slice(0, 12)).toEqual([
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
    ]);
    // A hidden directory inside another is covered by the outer one.
    expect(pairs('--tmpfs')).toEqual(['/tmp', base, join(dir, 'missing-parent', 'x'), secrets]);
    expect(args.join(' ')).toContain(`--ro-bind /dev/null ${key}`);
    expect(args.join(' ')).not.toContain(join(dir, 'absent'));
    expect(pairs('--bind')).toEqual([view.home, view.workspace, join(dir, 'shared')]);
    // A CA certificate in a hidden directory is bound back read-only at the path codex is given (the file its
    // links lead to now), after the tmpfs that hides it.
    expect(args.join(' ')).toContain(`--ro-bind ${realpathSync(join(secrets, '..v1', 'ca.pem'))} ${ca}`);
    expect(args.indexOf(ca)).toBeGreaterThan(args.indexOf(secrets));
    // bubblewrap makes no directory through a link: the directory's links are resolved, the file's name kept.
    const other = realpathSync(join(secrets, 'other.pem'));
    expect(args.join(' ')).toContain(`--ro-bind ${other} ${other}`);
    expect(args.join(' ')).not.toContain('absent.pem');
    // codex's own directory is visible read-only even where a private /tmp or a hidden directory covers it.
    expect(args.join(' ')).toContain(`--ro-bind ${join(dir, 'codex', 'bin')} ${join(dir, 'codex', 'bin')}`);
    expect(args.indexOf(join(dir, 'codex', 'bin'))).toBeGreaterThan(args.lastIndexOf('--tmpfs'));
    // Binds come after the tmpfs that hides their parent, and the command follows `--`.
    expect(args.indexOf(view.home)).toBeGreaterThan(args.indexOf(base));
    expect(args.slice(-6)).toEqual(['--setenv', 'CODEX_HOME', view.home, '--chdir', view.workspace, '--']);
  });
});

describe('isolationArgs with paths given through links', () => {
  it('hides and binds each where it really lies (bubblewrap mounts nothing through a link)', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'isolation-links-')));
    try {
      mkdirSync(join(dir, 'run'));
      symlinkSync(join(dir, 'run'), join(dir, 'var-run')); // as /var/run → /run
      const base = join(dir, 'var-run', 'gateway'); // created by the call
      const view = { home: join(base, 'users', 'alice'), workspace: join(dir, 'var-run', 'workspace', 'alice') };
      const args = isolationArgs(
        { hiddenDirs: [base], hiddenFiles: [], sharedDirs: [], publicFiles: [] },
        view,
        view.workspace,
      );
      const real = (path: string) => path.replace(join(dir, 'var-run'), join(dir, 'run'));
      const pairs = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
      expect(pairs('--tmpfs')).toEqual(['/tmp', real(base)]);
      expect(pairs('--bind')).toEqual([real(view.home), real(view.workspace)]);
      expect(args.join(' ')).not.toContain('var-run/gateway');
      // codex is sent to the same real places (a link on the way may not be there inside the namespace).
      expect(args.slice(-6)).toEqual([
        '--setenv',
        'CODEX_HOME',
        real(view.home),
        '--chdir',
        real(view.workspace),
        '--',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('allOnPath', () => {
  it('finds every file of that name on the path, in its order; findOnPath the first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'on-path-'));
    try {
      for (const d of ['a', 'b', 'c']) mkdirSync(join(dir, d));
      for (const d of ['c', 'a']) writeFileSync(join(dir, d, 'tool'), '');
      mkdirSync(join(dir, 'b', 'tool')); // a directory of that name is not a program
      const path = ['a', 'b', '', 'c'].map((d) => (d ? join(dir, d) : '')).join(delimiter);
      expect(allOnPath('tool', path)).toEqual([join(dir, 'a', 'tool'), join(dir, 'c', 'tool')]);
      expect(findOnPath('tool', path)).toBe(join(dir, 'a', 'tool'));
      expect(allOnPath('absent', path)).toEqual([]);
      expect(findOnPath('absent', path)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
