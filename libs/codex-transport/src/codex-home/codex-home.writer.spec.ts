import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CODEX_INTERNAL_MODELS,
  type CodexHomeConfig,
  MODEL_CATALOG_FILE,
  modelCatalogEntry,
  PROVIDER_KEY_ENV,
  renderCodexConfig,
  tenantDirName,
  writeCodexHome,
} from './codex-home.writer';

const config: CodexHomeConfig = {
  model: 'gpt-5-codex',
  reasoningEffort: 'medium',
  sandbox: 'read-only',
  approvalPolicy: 'never',
  provider: {
    id: 'openai',
    name: 'OpenAI "prod"',
    baseUrl: 'https://api.example.test/v1',
    hasApiKey: true,
    requestMaxRetries: 1,
    streamMaxRetries: 1,
    streamIdleTimeoutMs: 60000,
  },
  addDirs: ['/srv/shared'],
};

describe('CODEX_HOME writer', () => {
  it('renders the managed settings and names the key variable, never the key', () => {
    const toml = renderCodexConfig(config);
    expect(toml).toContain('model = "gpt-5-codex"');
    // codex refuses to let config.toml redefine its built-in providers, so those get a table of their own.
    expect(toml).toContain('model_provider = "openai-custom"');
    expect(toml).toContain('sandbox_mode = "read-only"');
    expect(toml).toContain('approval_policy = "never"');
    expect(toml).toContain('model_reasoning_effort = "medium"');
    expect(toml).toMatch(/\[analytics\]\nenabled = false/);
    expect(toml).toMatch(/\[features\]\nplugins = false\nshell_snapshot = false\n/);
    expect(renderCodexConfig({ ...config, shellSnapshot: true })).toMatch(
      /\[features\]\nplugins = false\nshell_snapshot = true\n/,
    );
    expect(toml).toContain('[model_providers."openai-custom"]');
    expect(toml).not.toMatch(/model_providers\."openai"\]/);
    expect(renderCodexConfig({ ...config, provider: { ...config.provider, id: 'litellm' } })).toContain(
      'model_provider = "litellm"',
    );
    expect(toml).toContain('name = "OpenAI \\"prod\\""');
    expect(toml).toContain('wire_api = "responses"');
    expect(toml).toContain('request_max_retries = 1');
    expect(toml).toContain(`env_key = "${PROVIDER_KEY_ENV}"`);
    expect(toml).toContain('writable_roots = ["/srv/shared"]');
  });

  it('leaves approval_policy out of the file when codex takes that policy per thread only', () => {
    expect(renderCodexConfig({ ...config, approvalPolicy: 'on-request' })).toContain('approval_policy = "on-request"');
    // codex 0.169+ refuses to start with approval_policy = "untrusted" in config.toml.
    expect(renderCodexConfig({ ...config, approvalPolicy: 'untrusted' })).not.toContain('approval_policy');
  });

  it('omits env_key when there is no key', () => {
    const toml = renderCodexConfig({ ...config, provider: { ...config.provider, hasApiKey: false } });
    expect(toml).not.toContain('env_key');
  });

  it('keeps skill settings codex wrote while regenerating the rest', () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    try {
      writeFileSync(
        join(home, 'config.toml'),
        'model = "old"\n\n[[skills.config]]\nname = "pdf"\nenabled = false\n\n[features]\nplugins = true\n',
      );
      writeCodexHome(home, config);
      const text = readFileSync(join(home, 'config.toml'), 'utf8');
      expect(text).toContain('model = "gpt-5-codex"');
      expect(text).not.toContain('model = "old"');
      expect(text).toContain('[[skills.config]]\nname = "pdf"\nenabled = false');
      expect(text).not.toContain('plugins = true');
      expect(statSync(join(home, 'config.toml')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('writes a model catalog as given, with the models codex looks up itself unless it names them', () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    const read = () =>
      (JSON.parse(readFileSync(join(home, MODEL_CATALOG_FILE), 'utf8')) as { models: Array<{ slug: string }> }).models;
    try {
      writeCodexHome(home, config);
      expect(readFileSync(join(home, 'config.toml'), 'utf8')).not.toContain('model_catalog_json');
      const own = { ...modelCatalogEntry('qwen-coder'), display_name: 'Qwen Coder', context_window: 131072 };
      writeCodexHome(home, { ...config, modelCatalog: [own] });
      expect(readFileSync(join(home, 'config.toml'), 'utf8')).toContain(
        `model_catalog_json = ${JSON.stringify(join(home, MODEL_CATALOG_FILE))}`,
      );
      expect(read()).toEqual([own, ...CODEX_INTERNAL_MODELS.map(modelCatalogEntry)]);
      const internal = { ...modelCatalogEntry(CODEX_INTERNAL_MODELS[0]), display_name: 'its own' };
      writeCodexHome(home, { ...config, modelCatalog: [own, internal] });
      expect(read()).toEqual([own, internal]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('maps tenant ids to directory names that cannot escape', () => {
    expect(tenantDirName('alice')).toBe('alice');
    expect(tenantDirName('team_1.dev')).toBe('team_1.dev');
    for (const hostile of ['..', '../etc', 'a/b', '.hidden', 'a..b', 'x'.repeat(80), 'ü', '', 'h-abc']) {
      const name = tenantDirName(hostile);
      expect(name).toMatch(/^h-[0-9a-f]{32}$/);
    }
    expect(tenantDirName('../etc')).not.toBe(tenantDirName('..'));
  });
});
