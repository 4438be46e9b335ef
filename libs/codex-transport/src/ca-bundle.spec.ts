import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namesSystemCaBundle, systemCaLocations } from './ca-bundle';

describe('the system CA bundle', () => {
  let root: string;
  const at = (path: string) => join(root, path);

  /** A Debian-like system: the bundle and directory under /etc/ssl, /usr/lib/ssl's names pointing at them. */
  function debian(): void {
    mkdirSync(at('etc/ssl/certs'), { recursive: true });
    writeFileSync(at('etc/ssl/certs/ca-certificates.crt'), 'bundle');
    mkdirSync(at('usr/lib/ssl'), { recursive: true });
    symlinkSync(at('etc/ssl/certs/ca-certificates.crt'), at('usr/lib/ssl/cert.pem'));
    symlinkSync(at('etc/ssl/certs'), at('usr/lib/ssl/certs'));
  }

  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'ca-bundle-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is found where codex looks: the first directory holding one, the first name in it', () => {
    debian();
    writeFileSync(at('etc/ssl/cert.pem'), 'later directory');
    expect(systemCaLocations(root)).toEqual({ file: at('usr/lib/ssl/cert.pem'), dir: at('usr/lib/ssl/certs') });
    // A Fedora-like one: the extracted bundle's directory comes before /etc/pki/tls, which has the certs directory.
    const rhel = at('rhel');
    mkdirSync(join(rhel, 'etc/pki/ca-trust/extracted/pem'), { recursive: true });
    writeFileSync(join(rhel, 'etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem'), 'bundle');
    mkdirSync(join(rhel, 'etc/pki/tls/certs'), { recursive: true });
    symlinkSync(join(rhel, 'etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem'), join(rhel, 'etc/pki/tls/cert.pem'));
    expect(systemCaLocations(rhel)).toEqual({
      file: join(rhel, 'etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem'),
      dir: join(rhel, 'etc/pki/tls/certs'),
    });
    expect(namesSystemCaBundle({ SSL_CERT_FILE: join(rhel, 'etc/pki/tls/cert.pem') }, rhel)).toBe(true);
    expect(systemCaLocations(at('nowhere'))).toEqual({ file: null, dir: null });
  });

  it('SSL_CERT_FILE naming it, by any of its paths, with SSL_CERT_DIR unset or naming its directory, is redundant', () => {
    debian();
    for (const file of ['etc/ssl/certs/ca-certificates.crt', 'usr/lib/ssl/cert.pem']) {
      expect(namesSystemCaBundle({ SSL_CERT_FILE: at(file) }, root)).toBe(true);
      expect(namesSystemCaBundle({ SSL_CERT_FILE: at(file), SSL_CERT_DIR: at('etc/ssl/certs') }, root)).toBe(true);
    }
  });

  it('any other file or directory is what the operator wants codex to trust, and is kept', () => {
    debian();
    writeFileSync(at('company.pem'), 'company CA');
    mkdirSync(at('company-certs'));
    const system = at('etc/ssl/certs/ca-certificates.crt');
    expect(namesSystemCaBundle({}, root)).toBe(false);
    expect(namesSystemCaBundle({ SSL_CERT_DIR: at('etc/ssl/certs') }, root)).toBe(false);
    expect(namesSystemCaBundle({ SSL_CERT_FILE: at('company.pem') }, root)).toBe(false);
    expect(namesSystemCaBundle({ SSL_CERT_FILE: system, SSL_CERT_DIR: at('company-certs') }, root)).toBe(false);
    expect(namesSystemCaBundle({ SSL_CERT_FILE: at('missing.pem') }, root)).toBe(false);
    expect(namesSystemCaBundle({ SSL_CERT_FILE: system }, at('nowhere'))).toBe(false);
  });
});
