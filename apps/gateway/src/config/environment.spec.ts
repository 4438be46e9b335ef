import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelCatalogEntry } from '@app/codex-transport';
import { ConfigurationError, isMultiTenant, parseEnvironment, readModelCatalog, replicaIndexOf } from './environment';

describe('parseEnvironment', () => {
  it('accepts an empty environment (every variable has a default)', () => {
    expect(() => parseEnvironment({})).not.toThrow();
  });

  it('converts numbers and booleans', () => {
    const env = parseEnvironment({ PORT: '9000', CODEX_ENABLE_SEARCH: 'true', CODEX_DEBUG_LOG: '0' });
    expect(env.PORT).toBe(9000);
    expect(env.CODEX_ENABLE_SEARCH).toBe(true);
    expect(env.CODEX_DEBUG_LOG).toBe(false);
  });

  it('lists every bad variable in one error', () => {
    let error: unknown;
    try {
      parseEnvironment({
        PORT: 'eighty',
        CODEX_SANDBOX: 'anything-goes',
        CODEX_APPROVAL_POLICY: 'sometimes',
        MAX_SESSIONS: '0',
        CODEX_ENABLE_SEARCH: 'maybe',
        CODEX_MODEL_ALIASES: '[1,2]',
        CODEX_GATEWAY_TOKENS: 'alice',
        CODEX_API_BASE_URL: 'not a url',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid configuration \(8\)/);
    for (const key of [
      'PORT',
      'CODEX_SANDBOX',
      'CODEX_APPROVAL_POLICY',
      'MAX_SESSIONS',
      'CODEX_ENABLE_SEARCH',
      'CODEX_MODEL_ALIASES',
      'CODEX_GATEWAY_TOKENS',
      'CODEX_API_BASE_URL',
    ]) {
      expect(message).toContain(key);
    }
  });

  it('folds alias names into their first name; the first name wins', () => {
    expect(parseEnvironment({ CODEX_PATH: '/opt/codex' }).CODEX_BINARY_PATH).toBe('/opt/codex');
    expect(parseEnvironment({ CODEX_PATH: '/a', CODEX_BINARY_PATH: '/b' }).CODEX_BINARY_PATH).toBe('/b');
    expect(parseEnvironment({ CODEX_REQUEST_TIMEOUT: '30' }).CODEX_TIMEOUT_SECONDS).toBe(30);
    expect(parseEnvironment({ OPENAI_API_KEY: 'sk-x' }).CODEX_API_KEY).toBe('sk-x');
    expect(parseEnvironment({ CODEX_LOG_LEVEL: 'debug' }).LOG_LEVEL).toBe('debug');
    expect(() => parseEnvironment({ CODEX_REQUEST_TIMEOUT: 'soon' })).toThrow(/CODEX_TIMEOUT_SECONDS/);
  });

  it('checks that CODEX_MODEL_CATALOG is a catalog describing every model the gateway serves', () => {
    const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
    const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    try {
      // A field codex has a default for may be left out.
      const { description: _description, ...undescribed } = modelCatalogEntry('fast-one');
      const models = [modelCatalogEntry('qwen'), { ...undescribed, context_window: 131072 }];
      const good = file('good.json', JSON.stringify({ models }));
      expect(readModelCatalog(good)).toEqual(models);
      expect(
        parseEnvironment({
          CODEX_MODEL_CATALOG: good,
          CODEX_MODEL: 'qwen',
          CODEX_MODEL_ALIASES: '{"fast":"fast-one"}',
        }).CODEX_MODEL_CATALOG,
      ).toBe(good);
      // The default model, an advertised one and an alias's target must each be in it.
      expect(() => parseEnvironment({ CODEX_MODEL_CATALOG: good })).toThrow(/describes no gpt-5-codex: codex would/);
      expect(() =>
        parseEnvironment({ CODEX_MODEL_CATALOG: good, CODEX_MODEL: 'qwen', CODEX_ADVERTISED_MODELS: 'qwen,big' }),
      ).toThrow(/describes no big:/);
      expect(() =>
        parseEnvironment({ CODEX_MODEL_CATALOG: good, CODEX_MODEL: 'qwen', CODEX_MODEL_ALIASES: '{"x":"y"}' }),
      ).toThrow(/describes no y:/);
      for (const [bad, reason] of [
        [join(dir, 'missing.json'), /cannot read .*missing\.json \(ENOENT\)/],
        [file('text.json', 'models: qwen'), /is not valid JSON/],
        [file('empty.json', '{"models":[]}'), /must hold \{"models": \[\.\.\.\]\}/],
        [file('noslug.json', '{"models":[{"name":"qwen"}]}'), /each model an object with a "slug"/],
        [file('list.json', '[{"slug":"qwen"}]'), /must hold/],
        [
          file('bare.json', '{"models":[{"slug":"qwen"}]}'),
          /qwen lacks display_name, supported_reasoning_levels, .*, experimental_supported_tools \(codex needs/,
        ],
      ] as const) {
        expect(() => parseEnvironment({ CODEX_MODEL_CATALOG: bad, CODEX_MODEL: 'qwen' })).toThrow(reason);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks that CODEX_CA_CERTIFICATE is a readable PEM file of certificates (codex would only warn and ignore it)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    try {
      const pem = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      expect(parseEnvironment({ CODEX_CA_CERTIFICATE: pem }).CODEX_CA_CERTIFICATE).toBe(pem);
      expect(() => parseEnvironment({ CODEX_CA_CERTIFICATE: join(dir, 'missing.pem') })).toThrow(
        /CODEX_CA_CERTIFICATE: cannot read .*missing\.pem \(ENOENT\)/,
      );
      expect(() => parseEnvironment({ CODEX_CA_CERTIFICATE: dir })).toThrow(
        /CODEX_CA_CERTIFICATE: cannot read .* \(EISDIR\)/,
      );
      expect(() =>
        parseEnvironment({ CODEX_CA_CERTIFICATE: file('key.pem', '-----BEGIN PRIVATE KEY-----\n') }),
      ).toThrow(/key\.pem holds no PEM certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('treats empty strings as unset', () => {
    const env = parseEnvironment({ PORT: '', CODEX_SANDBOX: '' });
    expect(env.PORT).toBeUndefined();
    expect(env.CODEX_SANDBOX).toBeUndefined();
  });

  it('checks that a security method has what it needs', () => {
    expect(() => parseEnvironment({ SECURITY_METHOD: 'Token' })).toThrow(/CODEX_GATEWAY_TOKEN/);
    expect(() => parseEnvironment({ SECURITY_METHOD: 'JWT' })).toThrow(/JWT_JWKS_URL/);
    expect(() => parseEnvironment({ SECURITY_METHOD: 'Keycloak' })).toThrow(/KEYCLOAK/);
    expect(() =>
      parseEnvironment({ SECURITY_METHOD: 'Keycloak', KEYCLOAK_INTROSPECTION_URL: 'http://idp/introspect' }),
    ).toThrow(/KEYCLOAK_CLIENT_ID and KEYCLOAK_CLIENT_SECRET/);
    expect(
      parseEnvironment({
        SECURITY_METHOD: 'Keycloak',
        KEYCLOAK_BASE_URL: 'http://idp',
        KEYCLOAK_REALM: 'r',
        KEYCLOAK_CLIENT_ID: 'c',
        KEYCLOAK_CLIENT_SECRET: 's',
      }).SECURITY_METHOD,
    ).toBe('Keycloak');
    expect(() => parseEnvironment({ CODEX_API_USE_TLS: 'true' })).toThrow(/CODEX_API_TLS_KEY_PATH/);
  });

  it('refuses an approval policy the exec backend cannot honour (codex exec never asks)', () => {
    expect(() => parseEnvironment({ CODEX_BACKEND: 'exec', CODEX_APPROVAL_POLICY: 'untrusted' })).toThrow(
      /CODEX_BACKEND=exec.*CODEX_APPROVAL_POLICY/,
    );
    expect(() => parseEnvironment({ CODEX_BACKEND: 'exec', CODEX_APPROVAL_POLICY: 'on-request' })).toThrow(
      /CODEX_APPROVAL_POLICY/,
    );
    expect(parseEnvironment({ CODEX_BACKEND: 'exec' }).CODEX_BACKEND).toBe('exec');
    expect(parseEnvironment({ CODEX_APPROVAL_POLICY: 'untrusted' }).CODEX_APPROVAL_POLICY).toBe('untrusted');
  });

  it('knows when several tenants can reach the gateway', () => {
    expect(isMultiTenant(parseEnvironment({}))).toBe(false);
    expect(isMultiTenant(parseEnvironment({ CODEX_GATEWAY_TOKEN: 'one-token-only' }))).toBe(false);
    expect(isMultiTenant(parseEnvironment({ CODEX_GATEWAY_TOKENS: 'alice:alice-token-1' }))).toBe(false);
    expect(isMultiTenant(parseEnvironment({ CODEX_GATEWAY_TOKENS: 'alice:alice-token-1,bob:bob-token-11' }))).toBe(
      true,
    );
    expect(
      isMultiTenant(
        parseEnvironment({ CODEX_GATEWAY_TOKENS: 'alice:alice-token-1', CODEX_GATEWAY_TOKEN: 'default-token' }),
      ),
    ).toBe(true);
    expect(isMultiTenant(parseEnvironment({ ALLOW_USER_ID_OVERRIDE: 'true' }))).toBe(true);
    expect(isMultiTenant(parseEnvironment({ SECURITY_METHOD: 'JWT', JWT_JWKS_URL: 'http://idp/jwks' }))).toBe(true);
  });

  it('refuses danger-full-access with several tenants unless the operator opts in', () => {
    const tenants = {
      CODEX_GATEWAY_TOKENS: 'alice:alice-token-1,bob:bob-token-11',
      CODEX_SANDBOX: 'danger-full-access',
    };
    expect(() => parseEnvironment(tenants)).toThrow(
      /CODEX_SANDBOX=danger-full-access.*CODEX_ALLOW_FULL_ACCESS_MULTI_TENANT=true/,
    );
    expect(parseEnvironment({ ...tenants, CODEX_ALLOW_FULL_ACCESS_MULTI_TENANT: 'true' }).CODEX_SANDBOX).toBe(
      'danger-full-access',
    );
    expect(parseEnvironment({ CODEX_SANDBOX: 'danger-full-access' }).CODEX_SANDBOX).toBe('danger-full-access');
    expect(() => parseEnvironment({ CODEX_TENANT_ISOLATION: 'maybe' })).toThrow(/CODEX_TENANT_ISOLATION/);
  });

  it('parses an environment once: the same one gives the same result, a changed one is parsed again', () => {
    const raw = { PORT: '9000', CODEX_MODEL: 'm' };
    const first = parseEnvironment(raw);
    expect(parseEnvironment({ CODEX_MODEL: 'm', PORT: '9000' })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const changed = parseEnvironment({ ...raw, PORT: '9001' });
    expect(changed).not.toBe(first);
    expect(changed.PORT).toBe(9001);
    expect(() => parseEnvironment({ PORT: 'x' })).toThrow(ConfigurationError);
    expect(() => parseEnvironment({ PORT: 'x' })).toThrow(ConfigurationError);
  });
  describe('the replica set', () => {
    const problems = (raw: NodeJS.ProcessEnv) => {
      try {
        parseEnvironment(raw);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const two = 'http://gw-0.gw:8000,http://gw-1.gw:8000';

    it('takes peers as http(s) URLs and an ordinal among them (given, or from a StatefulSet hostname)', () => {
      expect(problems({ CODEX_PEERS: two, CODEX_REPLICA_INDEX: '1' })).toBe('');
      expect(problems({ CODEX_PEERS: two, HOSTNAME: 'gw-1' })).toBe('');
      expect(replicaIndexOf({}, 'codex-gateway-12')).toBe(12);
      expect(replicaIndexOf({ CODEX_REPLICA_INDEX: 3 }, 'codex-gateway-12')).toBe(3);
      expect(replicaIndexOf({}, 'laptop')).toBe(0);
    });

    it('refuses, naming the variable: a peer that is not an http(s) URL, an ordinal outside the set, unequal lists', () => {
      expect(problems({ CODEX_PEERS: 'gw-0:8000,http://gw-1.gw:8000' })).toContain(
        'CODEX_PEERS must list http(s) base URLs ("gw-0:8000" is not one)',
      );
      expect(problems({ CODEX_PEERS: two, HOSTNAME: 'gw-2' })).toContain(
        'must be an ordinal of the 2 CODEX_PEERS (it is 2)',
      );
      expect(problems({ CODEX_PEERS: two, CODEX_H2_PEERS: 'http://gw-0.gw:8001' })).toContain(
        'CODEX_H2_PEERS must list as many replicas as CODEX_PEERS (1, not 2)',
      );
      expect(problems({ CODEX_REPLICAS_BEFORE: '0' })).toContain('CODEX_REPLICAS_BEFORE');
    });
  });
});
