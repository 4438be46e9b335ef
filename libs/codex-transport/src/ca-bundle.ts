import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where codex looks for the system's root certificates when neither SSL_CERT_FILE nor SSL_CERT_DIR is set
 * (rustls-native-certs, through openssl-probe): the bundle is the first of `SYSTEM_CA_FILES` present in the
 * first of these directories that holds one; the directory is the first `certs` under one of them.
 */
const SYSTEM_CA_DIRS = [
  '/var/ssl',
  '/usr/share/ssl',
  '/usr/local/ssl',
  '/usr/local/openssl',
  '/usr/local/etc/openssl',
  '/usr/local/share',
  '/usr/lib/ssl',
  '/usr/ssl',
  '/etc/openssl',
  '/etc/pki/ca-trust/extracted/pem',
  '/etc/pki/tls',
  '/etc/ssl',
  '/etc/certs',
  '/opt/etc/ssl',
  '/data/data/com.termux/files/usr/etc/tls',
  '/boot/system/data/ssl',
];
const SYSTEM_CA_FILES = [
  'cert.pem',
  'certs.pem',
  'ca-bundle.pem',
  'cacert.pem',
  'ca-certificates.crt',
  'certs/ca-certificates.crt',
  'certs/ca-root-nss.crt',
  'certs/ca-bundle.crt',
  'CARootCertificates.pem',
  'tls-ca-bundle.pem',
];

/** The system's CA bundle and certificate directory as codex finds them with no variable set (`root`: for tests). */
export function systemCaLocations(root = '/'): { file: string | null; dir: string | null } {
  let file: string | null = null;
  let dir: string | null = null;
  for (const base of SYSTEM_CA_DIRS.map((d) => join(root, d)).filter((d) => existsSync(d))) {
    file ??= SYSTEM_CA_FILES.map((name) => join(base, name)).find((path) => existsSync(path)) ?? null;
    if (!dir && existsSync(join(base, 'certs'))) dir = join(base, 'certs');
    if (file && dir) break;
  }
  return { file, dir };
}

/**
 * True when SSL_CERT_FILE (and SSL_CERT_DIR, if set) of `env` name the system's own CA bundle and directory,
 * which codex trusts anyway: set, they change nothing codex trusts, but codex re-reads and parses the whole
 * bundle for every HTTP client it builds, one a turn (codex 0.171.0: ~5 ms of CPU and of time to the first
 * token a turn with Debian's 144 certificates). Any other file — a bundle with a company's CA — is not.
 */
export function namesSystemCaBundle(env: NodeJS.ProcessEnv, root = '/'): boolean {
  const file = env.SSL_CERT_FILE;
  if (!file) return false;
  const system = systemCaLocations(root);
  return samePath(file, system.file) && (!env.SSL_CERT_DIR || samePath(env.SSL_CERT_DIR, system.dir));
}

function samePath(a: string, b: string | null): boolean {
  if (!b) return false;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
