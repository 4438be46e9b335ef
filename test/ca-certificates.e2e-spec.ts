import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { AppServerTransport, systemCaLocations } from '@app/codex-transport';
import { OfflineProvider } from '@app/offline-provider';
import { startGateway, type TestGateway } from './support/gateway';
import { certificateAuthority, TEST_DATA_ROOT } from './support/harness';

/**
 * A model provider behind TLS whose certificate a company's own authority signed: codex trusts it when the
 * gateway is given that authority (CODEX_CA_CERTIFICATE on top of the system's roots, or SSL_CERT_FILE
 * instead of them), and an SSL_CERT_FILE that only names the system's own bundle does not reach codex, which
 * trusts those roots anyway and would parse the bundle again at every turn.
 */
describe('CA certificates for the model provider', () => {
  const provider = new OfflineProvider();
  const authority = certificateAuthority('company-ca');
  let front: Server;
  let baseUrl: string;

  /** The codex app-server of the gateway's tenant. */
  function codexPid(gw: TestGateway): number {
    const pid = gw.app
      .get(AppServerTransport)
      .processes()
      .find((p) => p.tenant === 'default')?.pid;
    expect(pid).toBeDefined();
    return pid!;
  }

  /**
   * Whether that codex runs in a mount namespace of its own (the tenant's view): the process the gateway
   * started is bubblewrap, which stays in the gateway's; codex is below it.
   */
  function inTenantNamespace(gw: TestGateway): boolean {
    const own = readlinkSync('/proc/self/ns/mnt');
    const below = (pid: number): number[] => {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
      return children.flatMap((child) => [Number(child), ...below(Number(child))]);
    };
    return below(codexPid(gw)).some((pid) => readlinkSync(`/proc/${pid}/ns/mnt`) !== own);
  }

  /** The environment of the codex app-server of the gateway's tenant (bubblewrap hands its own to codex). */
  function codexEnvironment(gw: TestGateway): Record<string, string> {
    const entries = readFileSync(`/proc/${codexPid(gw)}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean);
    return Object.fromEntries(
      entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
  }

  async function completion(gw: TestGateway): Promise<string | null> {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [{ role: 'user', content: 'over TLS' }],
    });
    return answer.choices[0].message.content;
  }

  beforeAll(async () => {
    await provider.start();
    // TLS in front of the offline provider, with the company authority's certificate.
    front = createServer({ key: readFileSync(authority.key), cert: readFileSync(authority.cert) }, (req, res) => {
      const upstream = httpRequest(
        { host: '127.0.0.1', port: provider.port, path: req.url, method: req.method, headers: req.headers },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    baseUrl = `https://127.0.0.1:${(front.address() as AddressInfo).port}/v1`;
  });

  afterAll(async () => {
    await new Promise((resolve) => front?.close(resolve));
    await provider.stop();
  });

  it('CODEX_CA_CERTIFICATE: codex trusts the authority; an SSL_CERT_FILE naming the system bundle is not passed on', async () => {
    const system = systemCaLocations();
    expect(system.file).not.toBeNull(); // the machine's CA bundle (ca-certificates)
    const gw = await startGateway('ca-codex', {
      CODEX_API_BASE_URL: baseUrl,
      CODEX_CA_CERTIFICATE: authority.ca,
      SSL_CERT_FILE: system.file!,
      SSL_CERT_DIR: system.dir ?? undefined,
    });
    try {
      expect(await completion(gw)).toContain('You said: over TLS');
      const env = codexEnvironment(gw);
      expect(env.CODEX_CA_CERTIFICATE).toBe(authority.ca);
      expect(env.SSL_CERT_FILE).toBeUndefined();
      expect(env.SSL_CERT_DIR).toBeUndefined();
    } finally {
      await gw.close();
    }
  });

  /**
   * A gateway whose CA variable `name` is `value`, in a directory `hidden` from every tenant's codex: codex
   * (in the tenant's own namespace) trusts the authority, and was given the variable as set.
   */
  async function expectTrustedFromHidden(label: string, hidden: string, name: string, value: string): Promise<void> {
    const gw = await startGateway(label, {
      CODEX_API_BASE_URL: baseUrl,
      CODEX_ISOLATION_HIDE: hidden,
      CODEX_CA_CERTIFICATE: undefined,
      SSL_CERT_FILE: undefined,
      SSL_CERT_DIR: undefined,
      [name]: value,
    });
    try {
      expect(await completion(gw)).toContain('You said: over TLS');
      expect(inTenantNamespace(gw)).toBe(true);
      expect(codexEnvironment(gw)[name]).toBe(value);
    } finally {
      await gw.close();
    }
  }

  it("a CA certificate in a directory no tenant's codex may see (a mounted secret's, through its links) is still read by codex", async () => {
    // Laid out as Kubernetes mounts a Secret: `ca.pem` → `..data/ca.pem` → `..2026_12_06/ca.pem`.
    const secrets = join(authority.dir, 'secrets');
    mkdirSync(join(secrets, '..2026_12_06'), { recursive: true });
    copyFileSync(authority.ca, join(secrets, '..2026_12_06', 'ca.pem'));
    symlinkSync('..2026_12_06', join(secrets, '..data'));
    symlinkSync(join('..data', 'ca.pem'), join(secrets, 'ca.pem'));
    // Named through a linked directory that every codex sees (outside its private /tmp), as
    // `/var/run/secrets/…` is on systems where `/var/run` → `/run`.
    const link = join(TEST_DATA_ROOT, `ca-link-${process.pid}`);
    mkdirSync(TEST_DATA_ROOT, { recursive: true });
    symlinkSync(authority.dir, link);
    try {
      await expectTrustedFromHidden('ca-hidden', secrets, 'CODEX_CA_CERTIFICATE', join(link, 'secrets', 'ca.pem'));
    } finally {
      rmSync(link, { force: true });
    }
  });

  it('SSL_CERT_DIR in a hidden directory is read by codex too', async () => {
    // A directory of authorities as OpenSSL reads one: each certificate also under its subject's hash
    // (`openssl rehash`; codex finds certificates in SSL_CERT_DIR by those names only).
    const secrets = join(authority.dir, 'cert-dir');
    mkdirSync(secrets);
    copyFileSync(authority.ca, join(secrets, 'company-ca.pem'));
    execFileSync('openssl', ['rehash', secrets]);
    await expectTrustedFromHidden('ca-hidden-dir', secrets, 'SSL_CERT_DIR', secrets);
  });

  it('SSL_CERT_FILE naming another bundle is passed on as given, and codex trusts what it holds', async () => {
    const gw = await startGateway('ca-ssl-cert-file', {
      CODEX_API_BASE_URL: baseUrl,
      CODEX_CA_CERTIFICATE: undefined,
      SSL_CERT_FILE: authority.ca,
      SSL_CERT_DIR: undefined,
    });
    try {
      expect(await completion(gw)).toContain('You said: over TLS');
      expect(codexEnvironment(gw).SSL_CERT_FILE).toBe(authority.ca);
    } finally {
      await gw.close();
    }
  });
});
