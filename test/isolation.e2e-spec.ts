import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allOnPath, findBubblewrap, resolveCodexBinary } from '@app/codex-transport';
import { OfflineProvider } from '@app/offline-provider';
import { startGateway, type TestGateway } from './support/gateway';
import { makeDataDir, selfSignedCertificate } from './support/harness';

/**
 * Tenants isolated down to their agents' shells: with two token tenants, what bob's agent and records
 * leave behind (a secret in a prompt, a stored response, a file in his workspace) cannot be listed, read
 * or found by any command alice's agent runs — on the app-server (REST) and exec (Chat Completions)
 * backends, in the read-only and workspace-write sandboxes — and no command sees the provider key, a
 * gateway token, the TLS key or another process's environment. Alice's own turns still work; what her
 * commands are refused is an ordinary command failure.
 */
const KEY = 'sk-ISOLATION-CANARY-7731';
const SECRET = 'BOB-SECRET-4242';
const TOKENS = { alice: 'alice-token-0123456789', bob: 'bob-token-9876543210' };

interface Boot {
  gw: TestGateway;
  base: string;
  workspace: string;
  tlsKey: string;
}

async function boot(label: string, sandbox: 'read-only' | 'workspace-write', provider: OfflineProvider): Promise<Boot> {
  const { dir: certs, key: tlsKey } = selfSignedCertificate(`${label}-tls`);
  const gw = await startGateway(label, {
    CODEX_API_BASE_URL: provider.baseUrl,
    CODEX_API_KEY: KEY,
    CODEX_GATEWAY_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`,
    CODEX_SANDBOX: sandbox,
    CODEX_BACKEND: 'exec',
    CODEX_API_USE_TLS: 'true',
    CODEX_API_TLS_KEY_PATH: tlsKey,
    CODEX_API_TLS_CERT_PATH: join(certs, 'cert.pem'),
  });
  return { gw, base: gw.dataDir, workspace: join(gw.dataDir, 'workspace'), tlsKey };
}

async function call(b: Boot, tenant: keyof typeof TOKENS, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${b.gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS[tenant]}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${path} → ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/**
 * A REST turn running `command` (in a thread with `sandbox`): what the command printed, as the model got
 * it (the offline provider's answer quotes it; codex, run as root in a container, reports a command its
 * sandbox made fail with no command item of its own, only to the model).
 */
async function restCommand(
  b: Boot,
  tenant: keyof typeof TOKENS,
  command: string,
  sandbox: string,
): Promise<{ output: string; turn: string }> {
  const thread = await call(b, tenant, '/api/thread/start', { sandbox });
  const { turn } = await call(b, tenant, '/api/turn/start', {
    threadId: thread.thread.id,
    input: [{ type: 'text', text: `[[shell: ${command}]]` }],
  });
  const answer = turn.items
    .filter((i: any) => i.type === 'agentMessage')
    .map((i: any) => i.text as string)
    .join('\n');
  expect(answer).toMatch(/^Command output:/);
  return { output: answer, turn: turn.status };
}

/** A Chat Completion (the exec backend) running `command`; what the agent answered (it quotes the output). */
async function execCommand(b: Boot, tenant: keyof typeof TOKENS, command: string): Promise<string> {
  const completion = await call(b, tenant, '/v1/chat/completions', {
    model: 'gpt-5-codex',
    messages: [{ role: 'user', content: `[[shell: ${command}]]` }],
  });
  return completion.choices[0].message.content as string;
}

/**
 * What alice's agent runs. The words it looks for are assembled at run time, so that its own command line
 * (which it can read in /proc) never contains them.
 */
function probe(b: Boot): string {
  return [
    'B=b; B="${B}ob"; S=BOB-SEC; S="${S}RET"; K=CANARY',
    `ls -la ${b.base} ${b.base}/users ${b.base}/responses ${b.workspace} 2>&1`,
    `cat ${b.base}/users/$B/config.toml ${b.workspace}/$B/$B-note.txt 2>&1`,
    `ls ${b.base}/responses/$B 2>&1`,
    `grep -rao "$S-[0-9]*" ${b.base} ${b.workspace} 2>&1 | head -5`,
    `find ${b.base} -maxdepth 3 2>&1 | head -40`,
    `cat ${b.tlsKey} 2>&1 | head -3`,
    `for p in /proc/[0-9]*; do tr "\\0" "\\n" < $p/environ 2>&1; tr "\\0" " " < $p/cmdline 2>&1; echo; done | grep -a -i -e "$K" -e token -e "$S" | head -5`,
    'env | grep -i -e "$K" -e token',
    `echo probe-done`,
  ].join('; ');
}

/** Nothing of bob's, no tenant list, no key or token in `text` (its "No such file" errors name paths alice built herself). */
function expectNothingLeaked(text: string): void {
  expect(text).toContain('probe-done');
  for (const leak of [SECRET, KEY, TOKENS.bob, TOKENS.alice, 'PRIVATE KEY']) {
    expect({ leak, found: text.includes(leak) }).toEqual({ leak, found: false });
  }
  // No listing shows bob's directory.
  expect(text.split('\n').filter((line) => /(^|[\s/])bob$/.test(line.trim()))).toEqual([]);
}

describe('tenant isolation down to the agent’s shell (two token tenants, real codex)', () => {
  const provider = new OfflineProvider();
  const boots: Boot[] = [];

  beforeAll(async () => {
    await provider.start();
  });

  afterAll(async () => {
    for (const b of boots) await b.gw.close();
    await provider.stop();
  });

  describe.each(['workspace-write', 'read-only'] as const)('CODEX_SANDBOX=%s', (sandbox) => {
    let b: Boot;

    beforeAll(async () => {
      b = await boot(`isolation-${sandbox}`, sandbox, provider);
      boots.push(b);
      // bob's traces: a prompt with the secret, a stored response, and (where he may write) a file.
      await execCommand(b, 'bob', 'echo bob was here');
      await call(b, 'bob', '/v1/chat/completions', {
        model: 'gpt-5-codex',
        messages: [{ role: 'user', content: `remember ${SECRET}` }],
      });
      await call(b, 'bob', '/v1/responses', { input: `keep ${SECRET}` });
      const wrote = await restCommand(b, 'bob', `echo ${SECRET} > bob-note.txt && echo wrote`, sandbox);
      expect(wrote.output.includes('wrote')).toBe(sandbox === 'workspace-write');
      expect(existsSync(join(b.workspace, 'bob', 'bob-note.txt'))).toBe(sandbox === 'workspace-write');
      // The secret is on disk, where a shared filesystem would show it.
      const onDisk = execFileSync('grep', ['-rl', SECRET, b.base], { encoding: 'utf8' });
      expect(onDisk).toContain(join(b.base, 'users', 'bob'));
      expect(onDisk).toContain(join(b.base, 'responses', 'bob'));
    }, 120_000);

    // A thread may narrow the gateway's sandbox, not widen it.
    it.each(sandbox === 'workspace-write' ? (['read-only', 'workspace-write'] as const) : (['read-only'] as const))(
      "app-server (REST, thread sandbox %s): alice's agent finds nothing of bob's, no key, no token",
      async (threadSandbox) => {
        const result = await restCommand(b, 'alice', probe(b), threadSandbox);
        expect(result.turn).toBe('completed');
        expectNothingLeaked(result.output);
      },
      60_000,
    );

    it("exec backend (Chat Completions): alice's agent finds nothing of bob's, no key, no token", async () => {
      expectNothingLeaked(await execCommand(b, 'alice', probe(b)));
    }, 60_000);

    it("alice's own data stays hers to use, and bob cannot see what she writes", async () => {
      const mine = await restCommand(
        b,
        'alice',
        `echo alice-only > alice-note.txt; cat alice-note.txt; ls ${b.base}/users; ls ${b.workspace}`,
        sandbox,
      );
      expect(mine.turn).toBe('completed');
      expect(mine.output).toContain(sandbox === 'workspace-write' ? 'alice-only' : 'Read-only file system');
      // Her listing shows herself only.
      expect(mine.output).toMatch(/(^|\n)alice\n/);
      expect(mine.output).not.toMatch(/(^|\n)bob\n/);
      const theirs = await restCommand(
        b,
        'bob',
        `cat ${b.workspace}/alice/alice-note.txt; ls ${b.workspace}; echo bob-done`,
        'read-only',
      );
      expect(theirs.output).toContain('bob-done');
      expect(theirs.output).not.toContain('alice-only');
      expect(theirs.output).not.toMatch(/(^|\n)alice\n/);
    }, 60_000);
  });

  it("a tenant's cwd stays inside its own workspace", async () => {
    const b = boots[0];
    const refused = await fetch(`${b.gw.url}/api/thread/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cwd: join(b.workspace, 'bob') }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toMatch(/outside the workspace roots/);
    const relative = await call(b, 'alice', '/api/thread/start', { cwd: '.' });
    expect(relative.cwd).toBe(join(b.workspace, 'alice'));
  });

  it('lsb_release is masked in a tenant’s namespace (codex runs it at every start); /etc/os-release stays', async () => {
    const { output } = await restCommand(
      boots[0],
      'alice',
      'lsb_release -a; echo "rc=$?"; grep -c "^ID=" /etc/os-release',
      'read-only',
    );
    // Where the machine has one, it cannot be run (126); where it has none, it is not found (127).
    expect(output).toContain(allOnPath('lsb_release').length > 0 ? 'rc=126' : 'rc=127');
    expect(output).toMatch(/(^|\n)1\n/);
  }, 60_000);

  it('the provider key reaches the model provider, never a command', () => {
    expect(provider.requests.length).toBeGreaterThan(0);
    expect(provider.requests.every((r) => r.authorized)).toBe(true);
    for (const b of boots)
      expect(readFileSync(join(b.base, 'users', 'alice', 'config.toml'), 'utf8')).toContain(
        'exclude = ["CODEX_GATEWAY_PROVIDER_KEY"]',
      );
  });
});

describe('a data directory reached through a link (as `/var/run/…` is `/run/…`)', () => {
  const provider = new OfflineProvider();
  let b: Boot;
  let real: string;

  beforeAll(async () => {
    await provider.start();
    real = makeDataDir('isolation-linked');
    const link = `${real}-link`;
    symlinkSync(real, link);
    const gw = await startGateway(
      'isolation-linked',
      { CODEX_API_BASE_URL: provider.baseUrl, CODEX_GATEWAY_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}` },
      { dataDir: link },
    );
    b = { gw, base: link, workspace: join(link, 'workspace'), tlsKey: '/dev/null' };
    await call(b, 'bob', '/v1/responses', { input: `keep ${SECRET}` });
  }, 60_000);

  afterAll(async () => {
    await b?.gw.close();
    await provider.stop();
  });

  it("the tenants' namespaces are built, and alice's agent finds nothing of bob's by either path", async () => {
    const ready = (await (await fetch(`${b.gw.url}/health/ready`)).json()) as { info: Record<string, unknown> };
    expect(ready.info.isolation).toMatchObject({ status: 'up', mode: 'namespace' });
    expect(execFileSync('grep', ['-rl', SECRET, real], { encoding: 'utf8' })).toContain(join(real, 'responses', 'bob'));
    for (const base of [b.base, real]) {
      const result = await restCommand(
        { ...b, base, workspace: join(base, 'workspace') },
        'alice',
        probe(b),
        'read-only',
      );
      expect(result.turn).toBe('completed');
      expectNothingLeaked(result.output);
    }
  }, 60_000);
});

describe('a data directory reached through a link where the namespace shows nothing (its private /tmp)', () => {
  it("codex finds its home and workspace where they really are, and a tenant's turn runs", async () => {
    const provider = new OfflineProvider();
    await provider.start();
    const link = join(mkdtempSync(join(tmpdir(), 'isolation-tmp-link-')), 'data');
    symlinkSync(makeDataDir('isolation-tmp-link'), link);
    const gw = await startGateway('isolation-tmp-link', { CODEX_API_BASE_URL: provider.baseUrl }, { dataDir: link });
    try {
      const ready = (await (await fetch(`${gw.url}/health/ready`)).json()) as { info: Record<string, unknown> };
      expect(ready.info.isolation).toMatchObject({ status: 'up', mode: 'namespace' });
      const thread = await fetch(`${gw.url}/api/thread/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({}),
      });
      expect(thread.status).toBe(200);
      const { thread: started } = (await thread.json()) as { thread: { id: string } };
      const turn = await fetch(`${gw.url}/api/turn/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ threadId: started.id, input: [{ type: 'text', text: '[[shell: echo home-ok]]' }] }),
      });
      const { turn: done } = (await turn.json()) as {
        turn: { status: string; items: Array<{ type: string; text?: string }> };
      };
      expect(done.status).toBe('completed');
      expect(done.items.find((i) => i.type === 'agentMessage')?.text).toContain('home-ok');
    } finally {
      await gw.close();
      await provider.stop();
    }
  }, 60_000);
});

describe('a TLS key mounted as a Kubernetes secret, changed while tenants run', () => {
  const provider = new OfflineProvider();
  let b: Boot;
  let volume: string;

  /** Puts a new version of the secret in place as Kubernetes does: a new directory, `..data` swapped to it. */
  function putVersion(version: string): void {
    const { key, cert } = selfSignedCertificate(`secret-${version}`);
    mkdirSync(join(volume, version));
    copyFileSync(key, join(volume, version, 'tls.key'));
    copyFileSync(cert, join(volume, version, 'tls.crt'));
    symlinkSync(version, join(volume, '..data_tmp'));
    renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
  }

  beforeAll(async () => {
    await provider.start();
    volume = makeDataDir('tls-secret');
    putVersion('..2026_12_06_1');
    for (const name of ['tls.key', 'tls.crt']) symlinkSync(join('..data', name), join(volume, name));
    const gw = await startGateway('tls-secret', {
      CODEX_API_BASE_URL: provider.baseUrl,
      CODEX_GATEWAY_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`,
      CODEX_API_USE_TLS: 'true',
      CODEX_API_TLS_KEY_PATH: join(volume, 'tls.key'),
      CODEX_API_TLS_CERT_PATH: join(volume, 'tls.crt'),
    });
    b = { gw, base: gw.dataDir, workspace: join(gw.dataDir, 'workspace'), tlsKey: join(volume, 'tls.key') };
  }, 60_000);

  afterAll(async () => {
    await b?.gw.close();
    await provider.stop();
  });

  it("no version of the key is readable by a tenant's agent: one running when it changed, or one started after", async () => {
    const look = `cat ${volume}/tls.key; ls -la ${volume}; cat ${volume}/..data/tls.key ${volume}/..2026_12_06_*/tls.key; echo probe-done`;
    expect((await restCommand(b, 'alice', look, 'read-only')).output).not.toContain('PRIVATE KEY');
    putVersion('..2026_12_06_2');
    rmSync(join(volume, '..2026_12_06_1'), { recursive: true });
    expect(readFileSync(join(volume, 'tls.key'), 'utf8')).toContain('PRIVATE KEY');
    for (const tenant of ['alice', 'bob'] as const) {
      const { output } = await restCommand(b, tenant, look, 'read-only');
      expect(output).toContain('probe-done');
      expect(output).not.toContain('PRIVATE KEY');
    }
  }, 60_000);
});

describe('danger-full-access with several tenants', () => {
  it('is refused at boot without the explicit opt-in, and runs with it', async () => {
    const env = {
      CODEX_GATEWAY_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`,
      CODEX_SANDBOX: 'danger-full-access',
    };
    await expect(startGateway('full-access', env)).rejects.toThrow(
      /CODEX_SANDBOX=danger-full-access.*CODEX_ALLOW_FULL_ACCESS_MULTI_TENANT=true/,
    );
    const gw = await startGateway('full-access-opt-in', { ...env, CODEX_ALLOW_FULL_ACCESS_MULTI_TENANT: 'true' });
    try {
      const ready = (await (await fetch(`${gw.url}/health/ready`)).json()) as { info: Record<string, unknown> };
      expect(ready.info.isolation).toMatchObject({
        status: 'up',
        mode: 'off',
        reason: expect.stringContaining('danger-full-access'),
      });
    } finally {
      await gw.close();
    }
  });
});

describe('a configured path bubblewrap cannot mount', () => {
  let bin: string;
  let path: string | undefined;
  let unmountable: string;

  beforeAll(() => {
    // The real bubblewrap, but for arguments naming one directory, on which it fails as it does on a path it
    // cannot mount: the platform supports the namespaces, the configuration does not.
    const real = findBubblewrap(resolveCodexBinary(), process.env.PATH);
    expect(real).not.toBeNull();
    bin = makeDataDir('unmountable-bin');
    unmountable = makeDataDir('unmountable');
    writeFileSync(
      join(bin, 'bwrap'),
      `#!/bin/sh\ncase "$*" in *${unmountable}*) echo "bwrap: Can't mount tmpfs on /newroot${unmountable}: No such file or directory" >&2; exit 1;; esac\nexec ${real} "$@"\n`,
      { mode: 0o755 },
    );
    path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
  });

  afterAll(() => {
    process.env.PATH = path;
  });

  it.each([
    ['one tenant', {}],
    ['several tenants', { CODEX_GATEWAY_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}` }],
  ])('%s: the boot is refused, naming the paths to check (not the platform)', async (_name, env) => {
    // (a gateway that boots all the same is stopped, so that the failure is the assertion's)
    const outcome = await startGateway('unmountable', { ...env, CODEX_ISOLATION_HIDE: unmountable }).then(
      async (gw) => (await gw.close(), 'booted'),
      (error: Error) => error.message,
    );
    expect(outcome).toMatch(
      /Tenant isolation could not be set up with the paths configured \(.*Can't mount tmpfs.*\).*CODEX_ISOLATION_HIDE.*CODEX_TENANT_ISOLATION=off/,
    );
  });
});

describe('a platform that cannot build the namespaces', () => {
  let bin: string;
  let path: string | undefined;

  beforeAll(() => {
    // A bubblewrap that fails as it does where user namespaces or a /proc mount are not allowed.
    bin = makeDataDir('no-namespaces');
    writeFileSync(
      join(bin, 'bwrap'),
      '#!/bin/sh\necho "bwrap: Can\'t mount proc on /newroot/proc: Operation not permitted" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
  });

  afterAll(() => {
    process.env.PATH = path;
  });

  it('stops the boot of a multi-tenant gateway, saying why and how to opt out', async () => {
    await expect(
      startGateway('no-namespaces', { CODEX_GATEWAY_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}` }),
    ).rejects.toThrow(
      /Tenant isolation is not available on this platform \(.*Can't mount proc.*CODEX_TENANT_ISOLATION=off/,
    );
  });

  it.each([
    ['one tenant', {}, /unavailable: .*Can't mount proc/],
    [
      'several tenants, opted out',
      { CODEX_GATEWAY_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`, CODEX_TENANT_ISOLATION: 'off' },
      /CODEX_TENANT_ISOLATION=off/,
    ],
  ])('%s: runs without isolation, and readiness says so', async (_name, env, reason) => {
    const gw = await startGateway('no-namespaces-off', env);
    try {
      const ready = (await (await fetch(`${gw.url}/health/ready`)).json()) as {
        status: string;
        info: Record<string, unknown>;
      };
      expect(ready.status).toBe('ok');
      expect(ready.info.isolation).toMatchObject({ status: 'up', mode: 'off', reason: expect.stringMatching(reason) });
    } finally {
      await gw.close();
    }
  });
});
