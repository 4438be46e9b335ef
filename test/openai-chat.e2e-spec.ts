import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { AppServerTransport, ExecTransport } from '@app/codex-transport';
import { OfflineProviderHost } from '../apps/gateway/src/codex/offline-provider.host';
import { codexProcessesWith, until } from './support/harness';
import { startGateway, type TestGateway } from './support/gateway';
import { postSse } from './support/sse';

const TOKEN = 'devtoken';

describe.each(['app-server', 'exec'] as const)(
  'OpenAI Chat Completions on the %s backend (official openai SDK)',
  (backend) => {
    let gw: TestGateway;
    let client: OpenAI;

    beforeAll(async () => {
      gw = await startGateway(`openai-${backend}`, {
        CODEX_BACKEND: backend,
        CODEX_GATEWAY_TOKEN: TOKEN,
        CODEX_MAX_PROMPT_CHARS: '2000',
        CODEX_MAX_CONCURRENCY: '1',
        CODEX_MODEL_ALIASES: JSON.stringify({ fast: 'gpt-5-codex' }),
      });
      client = new OpenAI({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    });

    afterAll(async () => {
      await gw?.close();
    });

    const running = () =>
      backend === 'exec' ? gw.app.get(ExecTransport).runningTurns : gw.app.get(AppServerTransport).stats().runningTurns;

    it('creates a completion (non-stream) with usage, echoing the requested model', async () => {
      const { data, response } = await client.chat.completions
        .create({ model: 'fast', messages: [{ role: 'user', content: 'hi there' }] })
        .withResponse();
      expect(data.id).toMatch(/^chatcmpl-/);
      expect(data.object).toBe('chat.completion');
      expect(data.model).toBe('fast');
      expect(data.choices[0].message).toMatchObject({
        role: 'assistant',
        content: 'Hello from the offline provider. You said: hi there',
      });
      expect(data.choices[0].finish_reason).toBe('stop');
      expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
      expect(data.usage!.completion_tokens).toBeGreaterThan(0);
      expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
      expect(response.headers.get('x-codex-session-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('streams chunks whose text equals the reply, with usage when asked', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-5-codex',
        messages: [
          { role: 'system', content: 'Be terse.' },
          { role: 'user', content: '[[deltas: 6]] [[reply: streamed through the SDK]]' },
        ],
        stream: true,
        stream_options: { include_usage: true },
      });
      const ids = new Set<string>();
      let text = '';
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      let contentChunks = 0;
      for await (const chunk of stream) {
        ids.add(chunk.id);
        expect(chunk.model).toBe('gpt-5-codex');
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        if (!choice) continue;
        if (choice.delta.content) {
          text += choice.delta.content;
          contentChunks++;
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      expect(text).toBe('streamed through the SDK');
      expect(contentChunks).toBe(backend === 'exec' ? 1 : 6); // exec reports the message whole
      expect(ids.size).toBe(1);
      expect(finish).toBe('stop');
      expect(usage!.total_tokens).toBeGreaterThan(0);
    });

    it('raw SSE: role first, one id, finish chunk, usage chunk, [DONE] last', async () => {
      const res = await postSse(
        gw.url,
        '/v1/chat/completions',
        {
          model: 'gpt-5-codex',
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: 'raw' }],
        },
        { headers: { authorization: `Bearer ${TOKEN}` } },
      );
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.raw.endsWith('data: [DONE]\n\n')).toBe(true);
      const chunks = res.events.filter((e) => e.data !== '[DONE]').map((e) => e.json);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
      const finishAt = chunks.findIndex((c) => c.choices[0]?.finish_reason === 'stop');
      expect(finishAt).toBe(chunks.length - 2);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
      expect(res.events.at(-1)!.data).toBe('[DONE]');
    });

    it('lists and retrieves models; an unknown model is a NotFoundError', async () => {
      const list = await client.models.list();
      expect(list.data.map((m) => m.id)).toEqual(['gpt-5-codex', 'fast']);
      expect((await client.models.retrieve('fast')).id).toBe('fast');
      await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });

    it('rejects a wrong token (AuthenticationError) and an oversized prompt (BadRequestError, context_length_exceeded)', async () => {
      const wrong = new OpenAI({ apiKey: 'not-the-token', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      await expect(
        wrong.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }),
      ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const big = client.chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: 'x'.repeat(3000) }],
      });
      await expect(big).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      await expect(big).rejects.toMatchObject({
        status: 400,
        error: {
          type: 'invalid_request_error',
          code: 'context_length_exceeded',
          param: 'messages',
          message: expect.stringContaining('CODEX_MAX_PROMPT_CHARS'),
        },
      });
      const bad = client.chat.completions.create({ model: 'x', messages: [] });
      await expect(bad).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    });

    it('refuses what codex cannot give (several choices, log probabilities, stop sequences, legacy functions, audio, web search options), naming the parameter; their defaults pass', async () => {
      const messages = [{ role: 'user' as const, content: 'hi' }];
      const fn = { name: 'get_weather', parameters: { type: 'object', properties: {} } };
      const refusals: Array<[string, Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>]> = [
        ['n', { n: 2 }],
        ['logprobs', { logprobs: true }],
        ['top_logprobs', { top_logprobs: 3 }],
        ['stop', { stop: ['alpha'] }],
        ['stop', { stop: 'alpha' }],
        ['functions', { functions: [fn] }],
        ['function_call', { function_call: 'auto' }],
        ['modalities', { modalities: ['text', 'audio'] }],
        ['audio', { audio: { voice: 'alloy', format: 'wav' } }],
        ['web_search_options', { web_search_options: {} }],
      ];
      for (const [param, extra] of refusals) {
        const refused = client.chat.completions.create({ model: 'x', messages, ...extra });
        await expect(refused).rejects.toMatchObject({
          status: 400,
          error: { type: 'invalid_request_error', param },
        });
      }
      const plain = await client.chat.completions.create({
        ...{ model: 'x', messages, n: 1, logprobs: false },
        ...{ stop: [], modalities: ['text'], functions: [], audio: null },
      });
      expect(plain.choices).toHaveLength(1);
    });

    it('answers RateLimitError (with Retry-After) when the concurrency cap is full', async () => {
      const controller = new AbortController();
      // A turn that holds the one slot until it is aborted (exec streams nothing before the end: wait on the slot).
      const holding = client.chat.completions
        .create(
          { model: 'x', messages: [{ role: 'user', content: '[[stall: 1]] occupy the slot' }], stream: true },
          { signal: controller.signal },
        )
        .catch(() => undefined);
      await until(() => running() === 1, 'the slot is taken');
      const err = await client.chat.completions
        .create({ model: 'x', messages: [{ role: 'user', content: 'second' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('1');
      controller.abort();
      await holding;
      await until(() => running() === 0, 'no running turn after abort');
    });

    it('continues a session: the model sees the earlier turn; only new messages are sent', async () => {
      const first = await client.chat.completions
        .create({ model: 'x', messages: [{ role: 'user', content: 'remember the word mango' }] })
        .withResponse();
      const session = first.response.headers.get('x-codex-session-id')!;
      const second = await client.chat.completions
        .create(
          {
            model: 'x',
            messages: [
              { role: 'user', content: 'remember the word mango' },
              { role: 'assistant', content: first.data.choices[0].message.content! },
              { role: 'user', content: '[[memory]]' },
            ],
          },
          { headers: { 'X-Codex-Session-Id': session } },
        )
        .withResponse();
      expect(second.response.headers.get('x-codex-session-id')).toBe(session);
      expect(second.data.choices[0].message.content).toBe(
        'I can see 2 user messages in this conversation. Earlier: 1) "remember the word mango".',
      );
    });

    it('a session id the client chooses starts a session that the same id continues', async () => {
      const session = `client-chosen.${backend}:${Date.now()}`;
      const ask = (content: string) =>
        client.chat.completions
          .create({ model: 'x', messages: [{ role: 'user', content }] }, { headers: { 'X-Codex-Session-Id': session } })
          .withResponse();
      const first = await ask('first of mine [[memory]]');
      expect(first.response.headers.get('x-codex-session-id')).toBe(session);
      expect(first.data.choices[0].message.content).toMatch(/^I can see 1 user messages/);
      const second = await ask('second of mine [[memory]]');
      expect(second.response.headers.get('x-codex-session-id')).toBe(session);
      expect(second.data.choices[0].message.content).toBe(
        'I can see 2 user messages in this conversation. Earlier: 1) "first of mine".',
      );
      const refused = (await client.chat.completions
        .create(
          { model: 'x', messages: [{ role: 'user', content: 'x' }] },
          { headers: { 'X-Codex-Session-Id': 'no spaces' } },
        )
        .catch((e: unknown) => e)) as { status: number };
      expect(refused.status).toBe(400);
    });

    it('response_format json_schema reaches codex as its output schema; function tools need app-server', async () => {
      const completion = await client.chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: `schema-${backend} [[json: {"ok":true}]]` }],
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'flag',
            schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
          },
        },
      });
      expect(JSON.parse(completion.choices[0].message.content!)).toEqual({ ok: true });
      const asked = gw.app
        .get(OfflineProviderHost)
        .instance!.requests.find((r) => JSON.stringify(r.body.input).includes(`schema-${backend}`))!;
      expect(asked.body.text).toMatchObject({
        format: { type: 'json_schema', strict: true, schema: { required: ['ok'] } },
      });

      const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
        { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } },
      ];
      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
        { role: 'user', content: '[[tool: lookup {}]]' },
      ];
      const withTools = await client.chat.completions.create({ model: 'x', messages, tools }).catch((e: unknown) => e);
      if (backend === 'exec') {
        expect(withTools).toMatchObject({ status: 400, message: expect.stringMatching(/CODEX_BACKEND=app-server/) });
        return;
      }
      const { message, finish_reason } = (withTools as OpenAI.Chat.Completions.ChatCompletion).choices[0];
      expect(finish_reason).toBe('tool_calls');
      // The turn waits for the result (and holds the one turn this tenant may run): answer it.
      messages.push(message, { role: 'tool', tool_call_id: message.tool_calls![0].id, content: 'found' });
      const done = await client.chat.completions.create({ model: 'x', messages, tools });
      expect(done.choices[0].message.content).toBe('lookup returned: found');
    });

    it('system messages reach the model as instructions; a continued session keeps them without repeating them', async () => {
      const first = await client.chat.completions
        .create({
          model: 'x',
          messages: [
            { role: 'system', content: 'RULE-GAMMA: answer in one line.' },
            { role: 'user', content: '[[echo-instructions]] first' },
          ],
        })
        .withResponse();
      // (The exec backend hands them to codex as the thread's instructions, joined with codex's own.)
      const once = (text: string | null) => {
        expect(text).toMatch(/^Instructions: RULE-GAMMA: answer in one line\./);
        expect(text!.match(/RULE-GAMMA/g)).toHaveLength(1);
      };
      once(first.data.choices[0].message.content);
      const session = first.response.headers.get('x-codex-session-id')!;
      const second = await client.chat.completions.create(
        {
          model: 'x',
          messages: [
            { role: 'system', content: 'RULE-GAMMA: answer in one line.' },
            { role: 'user', content: '[[echo-instructions]] first' },
            { role: 'assistant', content: 'Instructions: RULE-GAMMA' },
            { role: 'user', content: '[[echo-instructions]] second' },
          ],
        },
        { headers: { 'X-Codex-Session-Id': session } },
      );
      once(second.choices[0].message.content);
    });

    it('a stateless request carries its history in the prompt', async () => {
      const res = await client.chat.completions.create({
        model: 'x',
        messages: [
          { role: 'user', content: 'my name is Ada' },
          { role: 'assistant', content: 'Hello Ada' },
          { role: 'user', content: 'what is my name?' },
        ],
      });
      expect(res.choices[0].message.content).toContain('user: my name is Ada');
      expect(res.choices[0].message.content).toContain('assistant: Hello Ada');
      expect(res.choices[0].message.content).toContain('what is my name?');
    });

    it('disconnecting mid-stream interrupts the turn: codex lets go of the model stream, exec its process', async () => {
      const provider = gw.app.get(OfflineProviderHost).instance!;
      const execs = () => codexProcessesWith(gw.dataDir).filter((p) => / exec /.test(p.args));
      // A turn that never ends by itself: the model streams one delta, then nothing until its client goes away.
      // app-server: the client leaves at the first text delta, which the open model stream sent. exec streams no
      // text deltas: the client leaves once the model is streaming to its process.
      const res = await postSse(
        gw.url,
        '/v1/chat/completions',
        { model: 'x', stream: true, messages: [{ role: 'user', content: '[[stall: 1]] goodbye' }] },
        backend === 'app-server'
          ? {
              headers: { authorization: `Bearer ${TOKEN}` },
              until: (events) => events.some((e) => e.json?.choices?.[0]?.delta?.content),
            }
          : {
              headers: { authorization: `Bearer ${TOKEN}` },
              abortWhen: until(
                () => provider.openStreams === 1 && running() === 1 && execs().length > 0,
                'the turn is streaming',
              ),
            },
      );
      expect(res.aborted).toBe(true);
      await until(() => running() === 0, 'no running turn');
      await until(() => provider.openStreams === 0, "codex closed the model's stream");
      expect(execs()).toEqual([]);
    });

    it('the two curl examples of the codex-api README work verbatim', async () => {
      // The README's commands, with only the host and port of this test gateway.
      const curl = (flags: string[], body: string) =>
        promisify(execFile)('curl', [
          ...flags,
          `${gw.url}/v1/chat/completions`,
          '-H',
          'Content-Type: application/json',
          '-H',
          'Authorization: Bearer devtoken',
          '-d',
          body,
        ]);
      const nonStream = await curl(
        ['-s'],
        '{\n    "model":"gpt-5.2",\n    "messages":[{"role":"user","content":"总结一下这个仓库结构"}],\n    "reasoning": {"effort":"low"},\n    "stream": false\n  }',
      );
      const body = JSON.parse(nonStream.stdout);
      expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-5.2' });
      expect(body.choices[0].message.content).toContain('总结一下这个仓库结构');
      const stream = await curl(
        ['-N', '-s'],
        '{\n    "model":"gpt-5-codex",\n    "messages":[{"role":"user","content":"用一句话解释这个项目的目的"}],\n    "stream": true\n  }',
      );
      expect(stream.stdout).toMatch(/^data: \{"id":"chatcmpl-/);
      expect(stream.stdout.trimEnd().endsWith('data: [DONE]')).toBe(true);
    });
  },
);

describe('the exec backend, a client that leaves as its turn starts', () => {
  it('leaves no codex behind, however early it leaves (30 times)', async () => {
    const gw = await startGateway('openai-exec-early-leave', { CODEX_BACKEND: 'exec', CODEX_MAX_CONCURRENCY: '1' });
    try {
      const client = new OpenAI({ apiKey: 'none', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const running = () => gw.app.get(ExecTransport).runningTurns;
      const execs = () => codexProcessesWith(gw.dataDir).filter((p) => / exec /.test(p.args));
      for (let i = 0; i < 30; i++) {
        const controller = new AbortController();
        const leaving = client.chat.completions
          .create(
            { model: 'x', messages: [{ role: 'user', content: '[[stall: 1]] leave at once' }], stream: true },
            { signal: controller.signal },
          )
          .catch(() => undefined);
        await until(() => running() === 1, `turn ${i} started`);
        // The moment its codex exec is spawned (bubblewrap still building the namespace), or a tick later.
        if (i % 2 === 1) await new Promise((r) => setImmediate(r));
        controller.abort();
        await leaving;
        await until(() => running() === 0 && execs().length === 0, `turn ${i}'s codex gone`);
      }
    } finally {
      await gw.close();
    }
  });
});

describe('OpenAI error mapping', () => {
  it('a provider failure is 502 in OpenAI shape; mid-stream it is an in-band error chunk then [DONE]', async () => {
    const gw = await startGateway('openai-errors');
    try {
      const client = new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const failed = await client.chat.completions
        .create({ model: 'x', messages: [{ role: 'user', content: '[[status: 500]]' }] })
        .catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
      expect((failed as { status: number }).status).toBe(502);
      expect((failed as { error: { type: string } }).error.type).toBe('server_error');
      // A stream that has begun and then breaks: the provider cuts it and codex gives up.
      const res = await postSse(gw.url, '/v1/chat/completions', {
        model: 'x',
        stream: true,
        messages: [{ role: 'user', content: '[[cut]] [[deltas: 8]] partial then broken' }],
      });
      const data = res.events.map((e) => e.data);
      expect(data.at(-1)).toBe('[DONE]');
      expect(res.status).toBe(200);
      expect(res.events[0].json.choices[0].delta.role).toBe('assistant');
      expect(res.events.some((e) => e.json?.choices?.[0]?.delta?.content)).toBe(true);
      expect(res.events.at(-2)!.json.error).toMatchObject({ type: 'server_error', message: expect.any(String) });
    } finally {
      await gw.close();
    }
  });
});

describe('codex-api compatibility switches', () => {
  it('CODEX_STRIP_ANSWER_TAGS removes <answer> tags; CODEX_DEBUG_LOG logs prompts and replies, cut to CODEX_LOG_MAX_CHARS', async () => {
    const lines: string[] = [];
    const capture = (message: unknown) => lines.push(String(message));
    const gw = await startGateway(
      'openai-switches',
      { CODEX_STRIP_ANSWER_TAGS: 'true', CODEX_DEBUG_LOG: 'true', CODEX_LOG_MAX_CHARS: '120' },
      { logger: { log: capture, warn: capture, error: capture, debug: capture, verbose: capture } },
    );
    try {
      const client = new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const prompt = '[[deltas: 9]] [[reply: <answer>finish(message="done")</answer>]]';
      const plain = await client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: prompt }] });
      expect(plain.choices[0].message.content).toBe('finish(message="done")');
      const stream = await client.chat.completions.create({
        model: 'x',
        messages: [{ role: 'user', content: prompt }],
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('finish(message="done")');
      const request = lines.find((l) => l.includes('chat request'));
      expect(request).toContain('[[deltas: 9]]');
      expect(lines.some((l) => l.includes('chat response'))).toBe(true);
      expect(lines.some((l) => l.includes('codex event'))).toBe(true);
      expect(lines.filter((l) => l.includes('codex event')).every((l) => l.length < 300)).toBe(true);
      expect(lines.some((l) => /… \(\d+ more characters\)/.test(l))).toBe(true);
    } finally {
      await gw.close();
    }
  });
});

describe('OpenAI timeouts and images', () => {
  it('a turn past CODEX_TIMEOUT_SECONDS is a 504; an image_url data part reaches the model; a remote URL is 400', async () => {
    const gw = await startGateway('openai-timeout', { CODEX_TIMEOUT_SECONDS: '1' });
    try {
      const client = new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const slow = await client.chat.completions
        .create({ model: 'x', messages: [{ role: 'user', content: '[[hang]]' }] })
        .catch((e: unknown) => e);
      expect(slow).toBeInstanceOf(OpenAI.InternalServerError);
      expect((slow as { status: number }).status).toBe(504);
      const pixel =
        'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
      const withImage = await client.chat.completions.create({
        model: 'x',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: pixel } },
            ],
          },
        ],
      });
      expect(withImage.choices[0].message.content).toContain('what is this?');
      const provider = gw.app.get(OfflineProviderHost).instance!;
      const body = JSON.stringify(provider.requests.at(-1)!.body.input);
      expect(body).toContain('input_image');
      const remote = client.chat.completions.create({
        model: 'x',
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.test/cat.png' } }] },
        ],
      });
      await expect(remote).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    } finally {
      await gw.close();
    }
  });
});
