import type { Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { AppServerTransport } from '@app/codex-transport';
import { AgentStreamServer } from '../../apps/gateway/src/agent-stream/agent-stream.server';
import { OfflineProviderHost } from '../../apps/gateway/src/codex/offline-provider.host';
import { startGateway, type TestGateway } from '../support/gateway';
import { connectH2 } from '../support/h2';
import { codexPidsWith, describePids, processGroupOf, retainedMb } from '../support/harness';
import { APPROVAL_PROTOCOLS, type Outcome, PROTOCOLS, type Protocol, runTurn, type Target } from './drivers';

/**
 * Reliability and security: faults on every protocol, hostile input, auth coverage, a bounded soak.
 * `npm test` runs it with a short soak; `npm run test:reliability` with SOAK_SECONDS=120.
 */
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 20);
const TOKEN = 'reliability-token';
const ledger = {
  faults: 0,
  survived: 0,
  hostile: 0,
  status500: 0,
  orphans: 0,
  hangs: 0,
  soakTurns: 0,
  soak503: 0,
  memoryDriftMb: 0,
  fdDrift: 0,
  defects: [] as string[],
};

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) {
      ledger.hangs++;
      throw new Error(`${what} not reached in ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Within `ms`, or it is a hang. */
async function bounded<T>(work: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ledger.hangs++;
      reject(new Error(`${what} did not end within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('reliability', () => {
  let gw: TestGateway;
  let target: Target;
  const transport = () => gw.app.get(AppServerTransport);

  const provider = () => gw.app.get(OfflineProviderHost).instance!;

  /**
   * No running turn, no model stream left open, no pending approval, and no codex process outside a live
   * session's.
   */
  async function settled(label: string): Promise<void> {
    await until(() => transport().stats().runningTurns === 0, `${label}: no running turn`);
    await until(() => provider().openStreams === 0, `${label}: codex let go of every model stream`);
    await until(() => transport().stats().pendingApprovals === 0, `${label}: no pending approval`);
    await until(() => {
      // A session's codex (and whatever it runs) is in the process group of the process the session started.
      const expected = transport()
        .processes()
        .map((p) => p.pid)
        .filter((p): p is number => p !== undefined);
      return codexPidsWith(gw.dataDir).every((pid) => expected.includes(processGroupOf(pid) ?? -1));
    }, `${label}: no orphan codex process`).catch((error) => {
      ledger.orphans++;
      throw new Error(`${(error as Error).message}\n${describePids(codexPidsWith(gw.dataDir))}`);
    });
  }

  async function fault(label: string, work: () => Promise<void>): Promise<void> {
    ledger.faults++;
    await bounded(work(), label, 45_000);
    await settled(label);
    ledger.survived++;
  }

  beforeAll(async () => {
    gw = await startGateway(
      'reliability',
      {
        CODEX_GATEWAY_TOKEN: TOKEN,
        CODEX_APPROVAL_TIMEOUT_SECONDS: '2',
        CODEX_MAX_CONCURRENCY: '32',
        CODEX_RATE_LIMIT_PER_MINUTE: '0',
      },
      // The faults are deliberate; the gateway's error lines about them would only bury the summary.
      { logger: ['fatal'] },
    );
    target = {
      url: gw.url,
      h2: connectH2(gw.app.get(AgentStreamServer).url),
      headers: { authorization: `Bearer ${TOKEN}` },
    };
  });

  afterAll(async () => {
    target?.h2.close();
    await gw?.close();
    process.stdout.write(
      `\nreliability summary: ${ledger.faults} faults injected, ${ledger.survived} survived; ${ledger.hostile} hostile inputs tried; ` +
        `${ledger.status500} responses with status 500; ${ledger.orphans} orphan codex processes; ${ledger.hangs} hangs; ` +
        `soak: ${ledger.soakTurns} turns in ${SOAK_SECONDS} s (${ledger.soak503} answered 503), memory drift ${ledger.memoryDriftMb.toFixed(1)} MB, fd drift ${ledger.fdDrift}\n`,
    );
  });

  describe('faults on every protocol', () => {
    it.each(PROTOCOLS)('%s: provider 500, provider cutting the stream, a slow provider', async (protocol) => {
      await fault(`${protocol} provider 500`, async () => {
        const out = await runTurn(protocol, target, '[[status: 500]] fail');
        expect({ protocol, failed: out.failed }).toEqual({ protocol, failed: true });
      });
      await fault(`${protocol} provider cut`, async () => {
        const out = await runTurn(protocol, target, '[[cut]] cut short');
        expect({ protocol, failed: out.failed, terminal: out.terminal !== 'no-terminal' }).toEqual({
          protocol,
          failed: true,
          terminal: true,
        });
      });
      await fault(`${protocol} slow provider`, async () => {
        const out = await runTurn(protocol, target, '[[deltas: 4]] [[delay: 250]] slowly');
        expect({ protocol, failed: out.failed }).toEqual({ protocol, failed: false });
      });
    });

    it.each(PROTOCOLS)(
      '%s: the codex process killed mid-turn ends the stream with an error; the next turn works',
      async (protocol) => {
        await fault(`${protocol} codex killed`, async () => {
          let killed = false;
          const out = await runTurn(protocol, target, '[[slow]] to be killed', {
            until: (events) => {
              if (
                !killed &&
                events.some(
                  (e) =>
                    e === 'item.delta' || e === 'message' || e === 'response.output_text.delta' || e === 'item.delta',
                )
              ) {
                killed = true;
                for (const p of transport().processes()) if (p.pid) process.kill(p.pid, 'SIGKILL');
              }
              return false;
            },
          });
          expect({ protocol, killed, failed: out.failed }).toEqual({ protocol, killed: true, failed: true });
          const again = await runTurn(protocol, target, 'after the crash');
          expect({ protocol, failed: again.failed }).toEqual({ protocol, failed: false });
        });
      },
    );

    // The turns never end by themselves (the model goes silent until its client leaves): what settles them is the interrupt.
    it.each(PROTOCOLS)(
      '%s: a client that disconnects while the model is silent or mid-stream interrupts its turn',
      async (protocol) => {
        await fault(`${protocol} disconnect while the model is silent`, async () => {
          const modelCalled = until(() => provider().openStreams > 0, 'the model is called');
          const out = await runTurn(protocol, target, '[[hang]] never read', { abortWhen: modelCalled });
          expect(out.aborted).toBe(true);
        });
        await fault(`${protocol} disconnect mid-stream`, async () => {
          const out = await runTurn(protocol, target, '[[stall: 3]] read a little', {
            until: (events) => events.some((e) => ['item.delta', 'message', 'response.output_text.delta'].includes(e)),
          });
          expect(out.aborted).toBe(true);
        });
      },
    );

    it.each(APPROVAL_PROTOCOLS)(
      '%s: an approval nobody answers is declined at the approval timeout',
      async (protocol) => {
        await fault(`${protocol} unanswered approval`, async () => {
          const out = await runTurn(protocol, target, '[[shell: echo never-answered]]', {
            approvalPolicy: 'untrusted',
          });
          expect({ protocol, terminal: out.terminal }).toEqual({
            protocol,
            terminal: expect.stringMatching(/completed/),
          });
        });
      },
    );

    it.each(APPROVAL_PROTOCOLS)(
      '%s: a client gone while its turn waits on an approval interrupts it and voids the approval',
      async (protocol) => {
        // Far above the test's wait: what clears the approval is the client leaving, not the timeout.
        const patient = await startGateway(
          'reliability-approvals',
          { CODEX_GATEWAY_TOKEN: TOKEN, CODEX_APPROVAL_TIMEOUT_SECONDS: '3600' },
          { logger: ['fatal'] },
        );
        const h2 = connectH2(patient.app.get(AgentStreamServer).url);
        const stats = () => patient.app.get(AppServerTransport).stats();
        try {
          ledger.faults++;
          const waiting = until(() => stats().pendingApprovals > 0, 'approval requested');
          const out = await runTurn(protocol, { ...target, url: patient.url, h2 }, '[[shell: echo abandoned]]', {
            approvalPolicy: 'untrusted',
            abortWhen: waiting,
          });
          expect(out.aborted).toBe(true);
          await until(
            () => stats().pendingApprovals === 0 && stats().runningTurns === 0,
            `${protocol}: approval voided, turn interrupted`,
          );
          ledger.survived++;
        } finally {
          h2.close();
          await patient.close();
        }
      },
    );

    it('a provider that refuses connections fails every protocol cleanly', async () => {
      const dead = await startGateway('reliability-dead-provider', {
        CODEX_API_BASE_URL: 'http://127.0.0.1:9/v1',
        CODEX_MODEL_PROVIDER: 'dead',
      });
      const h2 = connectH2(dead.app.get(AgentStreamServer).url);
      try {
        await Promise.all(
          PROTOCOLS.map(async (protocol) => {
            ledger.faults++;
            const out = await bounded(
              runTurn(protocol, { url: dead.url, h2, headers: {} }, 'nobody home'),
              `${protocol} dead provider`,
              90_000,
            );
            expect({ protocol, failed: out.failed }).toEqual({ protocol, failed: true });
            ledger.survived++;
          }),
        );
      } finally {
        h2.close();
        await dead.close();
      }
    }, 120_000);

    it('completed turns are still readable after every fault', async () => {
      const threads = (await (
        await fetch(`${gw.url}/api/thread/list`, {
          method: 'POST',
          headers: { ...target.headers, 'content-type': 'application/json' },
          body: '{"limit":50}',
        })
      ).json()) as {
        data: Array<{ id: string }>;
      };
      expect(threads.data.length).toBeGreaterThan(5);
      for (const thread of threads.data.slice(0, 10)) {
        const read = await fetch(`${gw.url}/api/thread/read`, {
          method: 'POST',
          headers: { ...target.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ threadId: thread.id, includeTurns: true }),
        });
        expect(read.status).toBe(200);
      }
    });
  });

  describe('hostile input', () => {
    let routes: Array<{ method: string; path: string }>;

    beforeAll(async () => {
      const doc = (await (await fetch(`${gw.url}/docs-json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
      );
    });

    async function send(method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: {
          ...target.headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: method === 'GET' || method === 'DELETE' ? undefined : body,
      });
      ledger.hostile++;
      const text = await res.text();
      if (res.status >= 500 && res.status !== 502 && res.status !== 503 && res.status !== 504) ledger.status500++;
      return { status: res.status, text };
    }

    const key = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        '__proto__',
        'constructor',
        'prototype',
        'threadId',
        'input',
        'messages',
        'content',
        'type',
        'stream',
      ),
    );
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 30 }),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('any'), { maxLength: 4 }),
        fc.dictionary(key, tie('any'), { maxKeys: 5 }),
      ),
    })).any;

    it('generated bodies on every route get a 2xx or a clear 4xx with a message (never a 5xx) and pollute nothing', async () => {
      const paramValue = fc.oneof(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.constantFrom('..', '%2e%2e%2f', 'resp_x', '00000000-0000-0000-0000-000000000000'),
      );
      for (const route of routes) {
        if (route.path === '/docs' || route.path === '/metrics') continue;
        await fc.assert(
          fc.asyncProperty(value, paramValue, async (body, param) => {
            const path = route.path.replace(/\{[^}]+\}/g, encodeURIComponent(param));
            const res = await send(route.method, path, JSON.stringify(body));
            // A body the route cannot use is the client's error: 4xx, never a 5xx.
            expect({
              route: `${route.method} ${route.path}`,
              status: res.status < 500 ? 'not 5xx' : res.status,
              text: res.status < 500 ? '' : res.text.slice(0, 200),
            }).toEqual({
              route: `${route.method} ${route.path}`,
              status: 'not 5xx',
              text: '',
            });
            if (res.status >= 400) {
              expect(res.text).toMatch(/"message"/);
              // Nothing of the server in an error body: no URL of its own or its provider's, no path, no stack.
              expect({
                route: `${route.method} ${route.path}`,
                leak:
                  /https?:\/\/(127\.0\.0\.1|localhost)|\n\s+at |node_modules|Stack backtrace/.test(res.text) ||
                  res.text.includes(gw.dataDir),
              }).toEqual({
                route: `${route.method} ${route.path}`,
                leak: false,
              });
            }
          }),
          { numRuns: 12, seed: 4242 },
        );
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'threadId')).toBe(false);
    });

    it('deep nesting, huge strings, NUL bytes and wrong types get a 400; a lone surrogate and prototype keys are used harmlessly', async () => {
      const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
      const cases: Array<[string, string, string, number]> = [
        ['POST', '/api/turn/start', `{"threadId":"x","input":${deep}}`, 400],
        ['POST', '/v1/chat/completions', `{"messages":[{"role":"user","content":"${'x'.repeat(3_000_000)}"}]}`, 400],
        // Valid JSON text: codex gets U+FFFD in the surrogate's place.
        ['POST', '/v1/responses', '{"input":"\\ud800\\udc00\\ud800 lone surrogate"}', 200],
        ['POST', '/api/thread/start', '{"cwd":"work\\u0000space"}', 400],
        // The prototype keys are plain data to the gateway: the chat runs, nothing is polluted.
        [
          'POST',
          '/chat',
          '{"__proto__":{"polluted":true},"messages":[{"content":"x","__proto__":{"polluted":true}}],"stream":false,"constructor":{"prototype":{"polluted":true}}}',
          200,
        ],
        ['POST', '/api/approvals/x', '{"decision":{"__proto__":"accept"}}', 400],
        [
          'POST',
          '/v1/responses',
          '{"input":[{"role":"user","content":[{"type":"input_text","text":{"toString":"x"}}]}]}',
          400,
        ],
        ['POST', '/api/turn/start', '{not json', 400],
      ];
      for (const [method, path, body, expected] of cases) {
        const res = await send(method, path, body);
        expect({ path, body: body.slice(0, 40), status: res.status }).toEqual({
          path,
          body: body.slice(0, 40),
          status: expected,
        });
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('cwd traversal: .., absolute paths elsewhere and symlinks out of the roots are refused', async () => {
      const workspace = join(gw.dataDir, 'workspace');
      mkdirSync(workspace, { recursive: true });
      try {
        symlinkSync('/etc', join(workspace, 'escape'));
      } catch {
        // exists already
      }
      for (const cwd of ['..', '../..', '/etc', '/', 'escape', 'escape/ssl', `${workspace}/../..`, './../users']) {
        const res = await send('POST', '/api/thread/start', JSON.stringify({ cwd }));
        expect({ cwd, status: res.status }).toEqual({ cwd, status: 400 });
        const turn = await send(
          'POST',
          '/api/turn/start',
          JSON.stringify({
            threadId: '00000000-0000-0000-0000-000000000000',
            input: [{ type: 'text', text: 'x' }],
            cwd,
          }),
        );
        expect({ cwd, status: turn.status }).toEqual({ cwd, status: 400 });
      }
      expect((await send('POST', '/api/thread/start', JSON.stringify({ cwd: '.' }))).status).toBe(200);
    });

    it('a client that does not read a large streamed answer does not stall the gateway; invalid HTTP/2 bytes are dropped', async () => {
      // A reader that never reads: the stream waits on backpressure while other requests go on.
      const socket = netConnect(Number(new URL(gw.url).port), '127.0.0.1');
      const payload = JSON.stringify({
        model: 'x',
        messages: [{ role: 'user', content: '[[words: 20000]] [[deltas: 400]] big' }],
        stream: true,
      });
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
      );
      socket.pause();
      await new Promise((r) => setTimeout(r, 1500));
      expect((await fetch(`${gw.url}/health/live`)).status).toBe(200);
      socket.destroy();
      // Garbage and HTTP/1.1 on the HTTP/2 port: the connection is dropped, the listener lives on.
      const h2Port = Number(new URL(gw.app.get(AgentStreamServer).url).port);
      for (const garbage of [
        'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u0000\u0000\u0004\u0009\u0000garbage-frame',
      ]) {
        const raw = netConnect(h2Port, '127.0.0.1');
        raw.on('error', () => undefined);
        raw.write(garbage);
        await new Promise<void>((resolve) => {
          raw.on('close', () => resolve());
          setTimeout(() => {
            raw.destroy();
            resolve();
          }, 3000);
        });
      }
      const out = await runTurn('agent_stream', target, 'still serving');
      expect(out.failed).toBe(false);
      await settled('slow reader');
    });
  });

  describe('auth coverage', () => {
    it('every documented route and the HTTP/2 stream refuse a missing or wrong token', async () => {
      const doc = (await (await fetch(`${gw.url}/docs-json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const open = /^\/(health(\/.*)?|healthz|status)$/;
      let checked = 0;
      for (const [path, methods] of Object.entries(doc.paths)) {
        for (const method of Object.keys(methods)) {
          const concrete = path.replace(/\{[^}]+\}/g, 'x');
          for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { 'x-api-key': 'wrong-token' }] as Array<
            Record<string, string>
          >) {
            const res = await fetch(`${gw.url}${concrete}`, {
              method: method.toUpperCase(),
              headers: { ...headers, 'content-type': 'application/json' },
              body: method === 'get' || method === 'delete' ? undefined : '{}',
            });
            const expected = open.test(path) ? 'open' : 401;
            expect({ route: `${method} ${path}`, status: open.test(path) ? 'open' : res.status }).toEqual({
              route: `${method} ${path}`,
              status: expected,
            });
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(60);
      for (const headers of [{}, { authorization: 'Bearer wrong-token' }] as Array<Record<string, string>>) {
        const out = await runTurn('agent_stream', { ...target, headers }, 'x');
        expect(out.terminal).toBe('http-401');
      }
    });
  });

  describe('soak', () => {
    it(
      `${SOAK_SECONDS} s of 16 clients mixing protocols, cancels and approvals: nothing left running, no drift`,
      async () => {
        // The clients run in this process too: their idle keep-alive connections (as many as happened to be
        // open at once) are closed before counting, so the count is the gateway's own.
        const fds = async () => {
          const count = () => readdirSync('/proc/self/fd').length;
          const server = gw.app.getHttpServer() as Server;
          const open = await new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
          const start = count();
          server.closeIdleConnections();
          // Both ends live here: wait until the clients have let go of them too (else one would be reused).
          await until(() => count() <= start - 2 * open, 'idle HTTP connections closed at both ends', 5000);
          return count();
        };
        await settled('before soak');
        global.gc?.();
        const before = { memory: await retainedMb(), fds: await fds() };
        const deadline = Date.now() + SOAK_SECONDS * 1000;
        let n = 0;
        const outcomes: Outcome[] = [];
        await Promise.all(
          Array.from({ length: 16 }, async (_, client) => {
            while (Date.now() < deadline) {
              const i = n++;
              const protocol: Protocol = PROTOCOLS[(client + i) % PROTOCOLS.length];
              const kind = i % 6;
              let out: Outcome;
              if (kind === 0)
                out = await runTurn(protocol, target, '[[slow]] cancel me', { until: (events) => events.length >= 4 });
              else if (kind === 1 && APPROVAL_PROTOCOLS.includes(protocol))
                out = await runTurn(protocol, target, `[[shell: echo soak-${i}]]`, { approvalPolicy: 'untrusted' });
              else out = await runTurn(protocol, target, `[[deltas: 5]] soak ${i}`);
              outcomes.push(out);
            }
          }),
        );
        ledger.soakTurns = outcomes.length;
        expect(outcomes.filter((o) => o.terminal === 'no-terminal')).toEqual([]);
        // A 503 (codex process lost, retry) is a clear, retryable answer; it is counted and reported, not hidden.
        ledger.soak503 = outcomes.filter((o) => o.status === 503).length;
        expect(outcomes.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
        // A REST turn's thread must start; only the retryable 503 is tolerated (and counted above).
        expect(outcomes.filter((o) => o.terminal.startsWith('thread-start-') && o.status !== 503)).toEqual([]);
        expect(ledger.soak503).toBeLessThanOrEqual(Math.ceil(outcomes.length / 100));
        await settled('after soak');
        const after = { memory: await retainedMb(), fds: await fds() };
        ledger.memoryDriftMb = after.memory - before.memory;
        ledger.fdDrift = after.fds - before.fds;
        expect(ledger.fdDrift).toBeLessThanOrEqual(16);
        // Turns that came and went leave no memory behind: what the process holds after a full collection.
        expect(ledger.memoryDriftMb).toBeLessThan(24);
      },
      (SOAK_SECONDS + 90) * 1000,
    );
  });

  it('the ledger shows zero 500s, orphans and hangs', () => {
    expect({ status500: ledger.status500, orphans: ledger.orphans, hangs: ledger.hangs }).toEqual({
      status500: 0,
      orphans: 0,
      hangs: 0,
    });
  });
});
