import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { EnvironmentVariables } from '../apps/gateway/src/config/environment';
import { ensureBuilt, MAIN_JS, ROOT } from './support/build';
import { connectH2, openAgentStream } from './support/h2';
import { codexPidsWith, makeDataDir, selfSignedCertificate, survivingCodexProcesses } from './support/harness';
import { TestIdentityProvider } from './support/identity-provider';
import { type ProductionGateway, startProductionGateway } from './support/process';
import { postSse } from './support/sse';

/**
 * Every documented setting that takes a fixed set of values, with each of its values: the production
 * build boots with it, is ready, and serves a turn on REST, Chat Completions and the HTTP/2 stream (an
 * authenticated one when auth is on); what the setting does is checked where a client can see it. Boots
 * are shared: each row sets one value of every variable.
 */

type Row = Record<string, string>;

/** The rows; every variable with a fixed set of values (read from the validation rules) must take each of them somewhere. */
const ROWS: Row[] = [
  {
    CODEX_APPROVAL_POLICY: 'untrusted',
    CODEX_SANDBOX: 'read-only',
    CODEX_BACKEND: 'app-server',
    SECURITY_METHOD: 'Token',
    CODEX_ENABLE_SEARCH: 'false',
    CODEX_SHELL_SNAPSHOT: 'false',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    CODEX_MODEL_REASONING_EFFORT: 'none',
    CODEX_API_USE_TLS: 'false',
    CODEX_STRIP_ANSWER_TAGS: 'false',
    CODEX_DEBUG_LOG: 'false',
    ALLOW_USER_ID_OVERRIDE: 'false',
    METRICS_PUBLIC: 'false',
  },
  {
    CODEX_APPROVAL_POLICY: 'on-request',
    CODEX_SANDBOX: 'workspace-write',
    CODEX_BACKEND: 'app-server',
    SECURITY_METHOD: 'Keycloak',
    CODEX_ENABLE_SEARCH: 'true',
    CODEX_SHELL_SNAPSHOT: 'true',
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'pretty',
    CODEX_MODEL_REASONING_EFFORT: 'minimal',
    CODEX_API_USE_TLS: 'true',
    CODEX_STRIP_ANSWER_TAGS: 'true',
    CODEX_DEBUG_LOG: 'true',
    ALLOW_USER_ID_OVERRIDE: 'true',
    METRICS_PUBLIC: 'true',
  },
  {
    CODEX_APPROVAL_POLICY: 'never',
    CODEX_SANDBOX: 'danger-full-access',
    CODEX_BACKEND: 'exec',
    SECURITY_METHOD: 'JWT',
    CODEX_ENABLE_SEARCH: 'false',
    CODEX_SHELL_SNAPSHOT: 'false',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    CODEX_MODEL_REASONING_EFFORT: 'low',
    CODEX_API_USE_TLS: 'false',
    CODEX_STRIP_ANSWER_TAGS: 'false',
    CODEX_DEBUG_LOG: 'true',
    ALLOW_USER_ID_OVERRIDE: 'false',
    METRICS_PUBLIC: 'true',
    CODEX_ALLOW_FULL_ACCESS_MULTI_TENANT: 'true',
  },
  {
    CODEX_APPROVAL_POLICY: 'never',
    CODEX_BACKEND: 'exec',
    SECURITY_METHOD: 'None',
    LOG_LEVEL: 'fatal',
    LOG_FORMAT: 'pretty',
    CODEX_MODEL_REASONING_EFFORT: 'medium',
  },
  { SECURITY_METHOD: 'Token', LOG_LEVEL: 'error', CODEX_MODEL_REASONING_EFFORT: 'high' },
  {
    SECURITY_METHOD: 'None',
    LOG_LEVEL: 'verbose',
    LOG_FORMAT: 'pretty',
    CODEX_MODEL_REASONING_EFFORT: 'xhigh',
    CODEX_SANDBOX: 'workspace-write',
  },
  { SECURITY_METHOD: 'None', LOG_LEVEL: 'trace', CODEX_APPROVAL_POLICY: 'on-request', CODEX_TENANT_ISOLATION: 'off' },
];

const TOKEN = 'matrix-token-0123456789';
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
/** LOG_LEVEL `verbose` is Nest's name for `trace`. */
const rank = (level: string) => LEVELS.indexOf(level === 'verbose' ? 'trace' : level);

/** The variables validated with a fixed set of values (`@IsIn`, `@IsBoolean`) and those values. */
function fixedValueVariables(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const meta of getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false)) {
    if (meta.name === 'isIn') out.set(meta.propertyName, (meta.constraints[0] as string[]).map(String));
    if (meta.name === 'isBoolean') out.set(meta.propertyName, ['true', 'false']);
  }
  return out;
}

describe('configuration matrix: every value of every fixed-value setting boots and serves', () => {
  const idp = new TestIdentityProvider();
  let certDir: string;

  beforeAll(async () => {
    await ensureBuilt();
    await idp.start();
    certDir = selfSignedCertificate('matrix-tls').dir;
  }, 120_000);

  afterAll(async () => {
    await idp.stop();
  });

  it('the rows give every value of every fixed-value variable', () => {
    const variables = fixedValueVariables();
    expect([...variables.keys()]).toEqual(
      expect.arrayContaining([
        'CODEX_APPROVAL_POLICY',
        'CODEX_SANDBOX',
        'CODEX_BACKEND',
        'SECURITY_METHOD',
        'LOG_LEVEL',
        'LOG_FORMAT',
      ]),
    );
    const missing: string[] = [];
    for (const [name, values] of variables) {
      for (const value of values)
        if (!ROWS.some((row) => valueIn(row, name) === value)) missing.push(`${name}=${value}`);
    }
    expect(missing).toEqual([]);
  });

  it.each(ROWS.map((row, i) => [i + 1, row] as const))(
    'row %i boots, is ready and serves on every protocol',
    async (_n, row) => {
      const settings = Object.fromEntries([...fixedValueVariables().keys()].map((name) => [name, valueIn(row, name)]));
      const dataDir = makeDataDir('matrix');
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: dataDir,
        BASE_DATA_DIR: dataDir,
        ...settings,
        ...authEnv(settings.SECURITY_METHOD),
      };
      if (process.env.CODEX_BINARY_PATH) env.CODEX_BINARY_PATH = process.env.CODEX_BINARY_PATH; // run against another codex
      if (settings.CODEX_API_USE_TLS === 'true')
        Object.assign(env, {
          CODEX_API_TLS_KEY_PATH: join(certDir, 'key.pem'),
          CODEX_API_TLS_CERT_PATH: join(certDir, 'cert.pem'),
        });
      const gw = await startProductionGateway(env, {
        cwd: ROOT,
        main: MAIN_JS,
        tls: settings.CODEX_API_USE_TLS === 'true',
      });
      try {
        await serves(gw, settings, dataDir);
        expect(codexPidsWith(dataDir).length).toBeGreaterThan(0);
      } finally {
        expect(await gw.stop()).toBe(0);
      }
      expect(await survivingCodexProcesses(dataDir)).toBe('');
      checkLog(gw.stdout(), settings);
    },
    120_000,
  );

  function authEnv(method: string): Record<string, string> {
    switch (method) {
      case 'Token':
        return { CODEX_GATEWAY_TOKEN: TOKEN };
      case 'Keycloak':
        idp.tokens.set(TOKEN, { active: true, sub: 'kc-user', exp: Math.floor(Date.now() / 1000) + 3600 });
        return {
          KEYCLOAK_BASE_URL: idp.url,
          KEYCLOAK_REALM: idp.realm,
          KEYCLOAK_CLIENT_ID: idp.clientId,
          KEYCLOAK_CLIENT_SECRET: idp.clientSecret,
        };
      case 'JWT':
        return { JWT_JWKS_URL: idp.jwksUrl, JWT_ISSUER: idp.issuer, JWT_AUDIENCE: idp.audience };
      default:
        return {};
    }
  }

  async function credentials(method: string): Promise<Record<string, string>> {
    if (method === 'None') return {};
    const token = method === 'JWT' ? await idp.sign('jwt-user') : TOKEN;
    return { authorization: `Bearer ${token}` };
  }

  async function serves(gw: ProductionGateway, s: Record<string, string>, dataDir: string): Promise<void> {
    const auth = await credentials(s.SECURITY_METHOD);
    const json = { 'content-type': 'application/json', ...auth };
    const post = (path: string, body: unknown, headers: Record<string, string> = json) =>
      fetch(`${gw.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

    // Readiness: a codex started the way a tenant's is initializes with these settings.
    const ready = await fetch(`${gw.url}/health/ready`);
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 200 });

    // Authentication: without credentials, 401 unless there is none to give.
    expect((await fetch(`${gw.url}/threads`)).status).toBe(s.SECURITY_METHOD === 'None' ? 200 : 401);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(
      s.SECURITY_METHOD === 'None' || s.METRICS_PUBLIC === 'true' ? 200 : 401,
    );

    // REST: a thread and a streamed turn, with no warning from codex (the model is in its catalog).
    const thread = (await (await post('/api/thread/start', {})).json()) as { thread: { id: string } };
    expect(thread).toMatchObject({ thread: { id: expect.any(String) }, sandbox: expect.anything() });
    const turn = await postSse(
      gw.url,
      '/api/turn/start',
      { threadId: thread.thread.id, input: [{ type: 'text', text: '[[reply: matrix ok]]' }] },
      { headers: auth },
    );
    expect(turn.status).toBe(200);
    expect(turn.events.map((e) => e.event)).not.toContain('warning');
    expect(turn.events.at(-1)!.json).toMatchObject({ type: 'turn.completed', status: 'completed' });

    // The tenant's codex got the settings.
    const homes = readdirSync(join(dataDir, 'users'));
    const toml = readFileSync(join(dataDir, 'users', homes[0], 'config.toml'), 'utf8');
    expect(toml).toContain(`sandbox_mode = "${s.CODEX_SANDBOX}"`);
    expect(toml).toContain(`model_reasoning_effort = "${s.CODEX_MODEL_REASONING_EFFORT}"`);
    expect(toml).toContain(`web_search = "${s.CODEX_ENABLE_SEARCH === 'true' ? 'live' : 'disabled'}"`);
    expect(toml).toContain(`shell_snapshot = ${s.CODEX_SHELL_SNAPSHOT}`);
    // codex refuses approval_policy = "untrusted" in config.toml; that policy goes with each thread.
    if (s.CODEX_APPROVAL_POLICY === 'untrusted') expect(toml).not.toContain('approval_policy');
    else expect(toml).toContain(`approval_policy = "${s.CODEX_APPROVAL_POLICY}"`);

    // Chat Completions (the exec backend serves it when set); answer tags stripped or kept.
    const chat = await post('/v1/chat/completions', {
      model: 'gpt-5-codex',
      messages: [{ role: 'user', content: '[[reply: <answer>matrix chat</answer>]]' }],
    });
    expect(chat.status).toBe(200);
    const content = ((await chat.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message
      .content;
    expect(content).toBe(s.CODEX_STRIP_ANSWER_TAGS === 'true' ? 'matrix chat' : '<answer>matrix chat</answer>');

    // HTTP/2 (h2 over TLS when set).
    const h2 = connectH2(
      gw.h2Url,
      s.CODEX_API_USE_TLS === 'true' ? { ca: readFileSync(join(certDir, 'cert.pem')) } : {},
    );
    try {
      const stream = openAgentStream(h2, { headers: auth });
      stream.send({ type: 'user_message', content: '[[reply: h2 ok]]' });
      expect(await stream.next((f) => f.type === 'turn_completed')).toMatchObject({ status: 'completed' });
      stream.end();
      await stream.closed;
      await commands(gw, s, auth, h2);
    } finally {
      h2.close();
    }

    // A tenant picked by header only when ALLOW_USER_ID_OVERRIDE is on: then it sees none of our threads.
    const asOther = (await (
      await fetch(`${gw.url}/threads`, { headers: { ...auth, 'x-user-id': 'someone-else' } })
    ).json()) as { threads: unknown[] };
    expect(asOther.threads.length === 0).toBe(s.ALLOW_USER_ID_OVERRIDE === 'true');
  }

  /** A shell command in a turn: asks first under `untrusted` (REST, HTTP/2 and /chat), runs in the sandbox otherwise. */
  async function commands(
    gw: ProductionGateway,
    s: Record<string, string>,
    auth: Record<string, string>,
    h2: ReturnType<typeof connectH2>,
  ): Promise<void> {
    const start = await fetch(`${gw.url}/api/thread/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: '{}',
    });
    const threadId = ((await start.json()) as { thread: { id: string } }).thread.id;
    const shell = (text: string) => ({ threadId, input: [{ type: 'text', text: `[[shell: ${text}]]` }] });
    const approvals = async () =>
      (
        (await (await fetch(`${gw.url}/api/approvals`, { headers: auth })).json()) as {
          data: Array<{ id: string; command: string }>;
        }
      ).data;
    const answer = async (command: string) => {
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
        const pending = (await approvals()).find((a) => a.command.includes(command));
        if (pending) {
          const res = await fetch(`${gw.url}/api/approvals/${pending.id}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...auth },
            body: '{"decision":"accept"}',
          });
          expect(res.status).toBe(200);
          return;
        }
      }
      throw new Error(`no approval for ${command}`);
    };

    if (s.CODEX_APPROVAL_POLICY === 'untrusted') {
      // REST
      const rest = postSse(gw.url, '/api/turn/start', shell('echo rest-asked'), { headers: auth });
      await answer('rest-asked');
      const restEvents = (await rest).events;
      expect(restEvents.map((e) => e.event)).toEqual(
        expect.arrayContaining(['approval.requested', 'approval.resolved']),
      );
      expect(JSON.stringify(restEvents.at(-1)!.json)).toContain('completed');
      // HTTP/2: a command_prompt, answered with an approve frame.
      const stream = openAgentStream(h2, { headers: auth });
      stream.send({ type: 'user_message', content: '[[shell: echo h2-asked]]' });
      const prompt = await stream.next((f) => f.type === 'command_prompt');
      expect(prompt.commandLine).toContain('h2-asked');
      stream.send({ type: 'approve', sessionId: prompt.sessionId, commandId: prompt.commandId, decision: 'allow' });
      expect(await stream.next((f) => f.type === 'turn_completed')).toMatchObject({ status: 'completed' });
      stream.end();
      await stream.closed;
      // /chat
      const chat = postSse(
        gw.url,
        '/chat',
        { messages: [{ content: '[[shell: echo chat-asked]]' }] },
        { headers: auth },
      );
      await answer('chat-asked');
      const chatEvents = (await chat).events;
      expect(chatEvents.map((e) => e.event)).toContain('approval.requested');
      expect(
        chatEvents.find((e) => e.event === 'item.completed' && e.json.item.type === 'commandExecution')!.json.item
          .output,
      ).toContain('chat-asked');
      return;
    }
    // Without approvals asked for, the command runs in the sandbox: it may write the workspace unless it is read-only.
    const res = await postSse(gw.url, '/api/turn/start', shell('touch matrix-written; echo ran'), { headers: auth });
    const names = res.events.map((e) => e.event);
    expect(names).not.toContain('approval.requested');
    const command = res.events.find((e) => e.event === 'item.completed' && e.json.item.type === 'commandExecution')!
      .json.item;
    expect(command.output).toContain('ran');
    const workspace = JSON.parse(
      await (
        await fetch(`${gw.url}/api/thread/read`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth },
          body: JSON.stringify({ threadId }),
        })
      ).text(),
    ).thread.cwd as string;
    expect(existsSync(join(workspace, 'matrix-written'))).toBe(s.CODEX_SANDBOX !== 'read-only');
  }

  /** LOG_LEVEL and LOG_FORMAT, read from what the process printed. */
  function checkLog(stdout: string, s: Record<string, string>): void {
    const lines = stdout.split('\n').filter(Boolean);
    const levels = lines.map((line) => {
      if (s.LOG_FORMAT === 'json') return String(JSON.parse(line).level);
      const m = /^\d\d:\d\d:\d\d\.\d{3} ([A-Z]+) /.exec(line);
      if (!m) throw new Error(`not a pretty log line: ${line}`);
      return m[1].toLowerCase();
    });
    const allowed = rank(s.LOG_LEVEL);
    expect(levels.filter((level) => rank(level) > allowed)).toEqual([]);
    const listening = lines.some((line) => line.includes('Codex Gateway listening on'));
    expect(listening).toBe(allowed >= rank('info'));
    // Nest's module-init lines only at debug and below.
    expect(lines.some((line) => line.includes('dependencies initialized'))).toBe(allowed >= rank('debug'));
    // CODEX_DEBUG_LOG puts prompts in the log (at info).
    if (allowed >= rank('info')) expect(stdout.includes('matrix chat</answer>')).toBe(s.CODEX_DEBUG_LOG === 'true');
  }
});

/** A row's value of a variable: its own, else the first row's, else the variable's first value (its default). */
function valueIn(row: Row, name: string): string {
  return row[name] ?? ROWS[0][name] ?? fixedValues(name)[0];
}

function fixedValues(name: string): string[] {
  for (const meta of getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false)) {
    if (meta.propertyName !== name) continue;
    if (meta.name === 'isIn') return (meta.constraints[0] as string[]).map(String);
    if (meta.name === 'isBoolean') return ['false', 'true'];
  }
  return [];
}
