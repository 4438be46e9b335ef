import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { AppServerTransport } from '@app/codex-transport';
import { OfflineProviderHost } from '../apps/gateway/src/codex/offline-provider.host';
import { codexPidsWith, survivingCodexProcesses, until } from './support/harness';
import { startGateway, type TestGateway } from './support/gateway';
import { parseSse, postSse, type SseEvent } from './support/sse';

const TOKEN_A = 'token-of-tenant-a';
const TOKEN_B = 'token-of-tenant-b';
const REPLY = (text: string) => `Hello from the offline provider. You said: ${text}`;

type Message = { role?: string; type?: string; content?: unknown };

/** The role and text of each message codex sent the model (codex's own context messages left out). */
function conversation(input: Message[]): string[] {
  return input
    .filter((m) => m.type === 'message' || m.role)
    .flatMap((m) => {
      const parts = Array.isArray(m.content) ? m.content : [{ text: m.content }];
      const text = (p: { text?: string }) => `${m.role}: ${p.text ?? ''}`;
      // codex gives a thread's developer instructions as one part of its own developer message
      return m.role === 'developer'
        ? parts.map(text)
        : [`${m.role}: ${parts.map((p: { text?: string }) => p.text ?? '').join('')}`];
    })
    .filter((line) => !/^(developer|user): (<|You are|# AGENTS)/.test(line));
}

/** GET and read an SSE body whole. */
async function getSse(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; events: SseEvent[]; raw: string }> {
  const res = await fetch(url, { headers });
  const raw = await res.text();
  return { status: res.status, events: parseSse(raw), raw };
}

describe('OpenAI Responses API (official openai SDK, real codex)', () => {
  let gw: TestGateway;
  let client: OpenAI;
  const auth = { authorization: `Bearer ${TOKEN_A}` };
  const provider = () => gw.app.get(OfflineProviderHost).instance!;
  const running = () => gw.app.get(AppServerTransport).stats().runningTurns;

  beforeAll(async () => {
    gw = await startGateway('responses', {
      CODEX_GATEWAY_TOKENS: `alice:${TOKEN_A},bob:${TOKEN_B}`,
      CODEX_MAX_PROMPT_CHARS: '3000',
      CODEX_MODEL_ALIASES: JSON.stringify({ fast: 'gpt-5-codex' }),
    });
    client = new OpenAI({ apiKey: TOKEN_A, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('creates a response (non-stream) with output, usage and the echoed request fields', async () => {
    const r = await client.responses.create({
      model: 'fast',
      input: 'hi there',
      metadata: { ticket: 'T-42' },
      reasoning: { effort: 'low' },
      temperature: 0.2,
    });
    expect(r.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(r).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'fast',
      store: true,
      error: null,
      incomplete_details: null,
      instructions: null,
      previous_response_id: null,
      metadata: { ticket: 'T-42' },
      reasoning: { effort: 'low' },
      temperature: 0.2,
    });
    expect(r.output_text).toBe(REPLY('hi there'));
    expect(r.output).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: REPLY('hi there'), annotations: [], logprobs: [] }],
      },
    ]);
    expect(r.usage!.input_tokens).toBeGreaterThan(0);
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
    expect(r.usage!.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(0);
    expect(r.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThanOrEqual(0);
    expect(r.created_at).toBeGreaterThan(1_700_000_000);
  });

  it('streams with the SDK: text deltas assemble the reply and the final response matches', async () => {
    const stream = await client.responses.create({
      model: 'gpt-5-codex',
      input: '[[deltas: 5]] stream me',
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | null = null;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(text).toBe(REPLY('stream me'));
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(5);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(completed!.status).toBe('completed');
    expect((completed!.output[0] as OpenAI.Responses.ResponseOutputMessage).content[0]).toMatchObject({
      text: REPLY('stream me'),
    });
    // The SDK's own accumulator (responses.stream) builds the same response from the events.
    const final = await client.responses
      .stream({ model: 'gpt-5-codex', input: '[[deltas: 3]] accumulate' })
      .finalResponse();
    expect(final.output_text).toBe(REPLY('accumulate'));
    expect(final.status).toBe('completed');
  });

  it('raw SSE: response.created first, sequence numbers from 0, statuses on every item, completed output = streamed items', async () => {
    const res = await postSse(
      gw.url,
      '/v1/responses',
      { input: '[[reasoning: weighing options]] [[shell: echo from-the-shell]] run it' },
      { headers: { ...auth, accept: 'text/event-stream' } },
    );
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/event-stream/);
    const events = res.events;
    expect(events[0].event).toBe('response.created');
    expect(events[1].event).toBe('response.in_progress');
    events.forEach((e, i) => {
      expect(e.json.type).toBe(e.event);
      expect(e.json.sequence_number).toBe(i);
    });
    expect(res.raw).not.toContain('[DONE]');
    const added = events.filter((e) => e.event === 'response.output_item.added').map((e) => e.json.item);
    const done = events.filter((e) => e.event === 'response.output_item.done');
    for (const item of [...added, ...done.map((e) => e.json.item)]) expect(item.status).toEqual(expect.any(String));
    const last = events.at(-1)!;
    expect(last.event).toBe('response.completed');
    expect(last.json.response.output).toEqual(
      done.sort((a, b) => a.json.output_index - b.json.output_index).map((e) => e.json.item),
    );
    const output = last.json.response.output as Array<Record<string, any>>;
    // Reasoning, the command codex ran (with its output), then the answer quoting it.
    expect(output.map((i) => i.type)).toEqual(['reasoning', 'codex_command_execution', 'message']);
    expect(output[0].summary).toEqual([{ type: 'summary_text', text: 'weighing options' }]);
    expect(output[1]).toMatchObject({
      status: 'completed',
      exit_code: 0,
      output: expect.stringContaining('from-the-shell'),
    });
    expect(output[1].command).toContain('echo from-the-shell');
    expect(output[2].content[0].text).toContain('from-the-shell');
    const reasoningTypes = events.map((e) => e.event).filter((t) => t.startsWith('response.reasoning_summary'));
    expect(reasoningTypes[0]).toBe('response.reasoning_summary_part.added');
    expect(reasoningTypes.at(-1)).toBe('response.reasoning_summary_part.done');
    // The same events replay from the stored response, from any point.
    const id = events[0].json.response.id;
    const replay = await getSse(`${gw.url}/v1/responses/${id}?stream=true&starting_after=3`, auth);
    expect(replay.events.map((e) => e.data)).toEqual(events.slice(4).map((e) => e.data));
  });

  it('chains three responses; a branch from the first does not see the second; parallel continuations do not mix', async () => {
    const r1 = await client.responses.create({ input: 'my name is Ada' });
    const r2 = await client.responses.create({ input: 'I like tea', previous_response_id: r1.id });
    const r3 = await client.responses.create({ input: '[[memory]] what do you know', previous_response_id: r2.id });
    expect(r3.previous_response_id).toBe(r2.id);
    expect(r3.output_text).toBe(
      'I can see 3 user messages in this conversation. Earlier: 1) "my name is Ada", 2) "I like tea".',
    );
    const branch = await client.responses.create({ input: '[[memory]] branch', previous_response_id: r1.id });
    expect(branch.output_text).toBe('I can see 2 user messages in this conversation. Earlier: 1) "my name is Ada".');
    // Two continuations of the same response at once: each sees the chain, neither sees the other.
    const [x, y] = await Promise.all([
      client.responses.create({ input: '[[memory]] [[delay: 100]] left', previous_response_id: r2.id }),
      client.responses.create({ input: '[[memory]] [[delay: 100]] right', previous_response_id: r2.id }),
    ]);
    for (const r of [x, y]) {
      expect(r.output_text).toBe(
        'I can see 3 user messages in this conversation. Earlier: 1) "my name is Ada", 2) "I like tea".',
      );
    }
    // The original chain goes on from r3 untouched by the branches.
    const r4 = await client.responses.create({ input: '[[memory]] again', previous_response_id: r3.id });
    expect(r4.output_text).toContain('I can see 4 user messages');
    expect(r4.output_text).toContain('3) "what do you know"');
  });

  it('instructions reach the model for their response only: a later response of the chain does not see them', async () => {
    const r1 = await client.responses.create({
      input: '[[echo-instructions]] first',
      instructions: 'RULE-ALPHA: answer briefly.',
    });
    expect(r1.instructions).toBe('RULE-ALPHA: answer briefly.');
    expect(r1.output_text).toBe('Instructions: RULE-ALPHA: answer briefly.');
    const first = conversation(provider().requests.at(-1)!.body.input as Message[]);
    expect(first).toContain('developer: RULE-ALPHA: answer briefly.');
    expect(first.at(-1)).toBe('user: [[echo-instructions]] first');

    const r2 = await client.responses.create({ input: 'second', previous_response_id: r1.id });
    expect(r2.instructions).toBeNull();
    const second = conversation(provider().requests.at(-1)!.body.input as Message[]);
    // The conversation goes on without them.
    expect(second.filter((m) => m.startsWith('developer:'))).toEqual([]);
    expect(second.slice(-3)).toEqual([
      'user: [[echo-instructions]] first',
      'assistant: Instructions: RULE-ALPHA: answer briefly.',
      'user: second',
    ]);

    await client.responses.create({ input: 'third', previous_response_id: r2.id, instructions: 'RULE-BETA' });
    const third = conversation(provider().requests.at(-1)!.body.input as Message[]);
    expect(third.filter((m) => m.startsWith('developer:'))).toEqual(['developer: RULE-BETA']);
    expect(third.at(-1)).toBe('user: third');
  });

  it('retrieve returns what create returned; delete then 404; input_items lists the input', async () => {
    const created = await client.responses.create({
      input: [
        { role: 'developer', content: 'Be exact.' },
        { role: 'user', content: [{ type: 'input_text', text: 'keep me' }] },
      ],
    });
    expect(await client.responses.retrieve(created.id)).toEqual(created);
    const items = await client.responses.inputItems.list(created.id, { order: 'asc' });
    expect(
      items.data.map((i) => ({
        role: (i as any).role,
        content: (i as any).content,
        type: i.type,
        status: (i as any).status,
      })),
    ).toEqual([
      { role: 'developer', type: 'message', status: 'completed', content: [{ type: 'input_text', text: 'Be exact.' }] },
      { role: 'user', type: 'message', status: 'completed', content: [{ type: 'input_text', text: 'keep me' }] },
    ]);
    const desc = await client.responses.inputItems.list(created.id);
    expect((desc.data[0] as any).role).toBe('user');

    expect(await client.responses.delete(created.id)).toEqual({ id: created.id, object: 'response', deleted: true });
    const missing = await client.responses.retrieve(created.id).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as { error: { type: string; message: string } }).error).toMatchObject({
      type: 'not_found_error',
      message: `Response with id '${created.id}' not found.`,
    });
    const again = await fetch(`${gw.url}/v1/responses/${created.id}`, { method: 'DELETE', headers: auth });
    expect(again.status).toBe(404);
  });

  it('cancels a slow response: status cancelled, the turn interrupted, the stream ends with response.cancelled', async () => {
    const stream = await client.responses.create({ input: '[[slow]] take your time', stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    const createdEvent = (await iterator.next()).value as OpenAI.Responses.ResponseCreatedEvent;
    const id = createdEvent.response.id;
    await until(() => running() === 1, 'the turn runs');
    const cancelled = await client.responses.cancel(id);
    expect(cancelled.status).toBe('cancelled');
    const rest: string[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value.type);
    expect(rest.at(-1)).toBe('response.cancelled');
    await until(() => running() === 0, 'the turn is interrupted');
    expect((await client.responses.retrieve(id)).status).toBe('cancelled');
    // Cancelling again: it is no longer in progress.
    expect(await client.responses.cancel(id).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.ConflictError);
  });

  it('background responses return at once; chaining onto one still running is 409; a replay follows it live', async () => {
    const bg = await client.responses.create({
      input: '[[deltas: 4]] [[delay: 150]] in the background',
      background: true,
    });
    expect(bg.status).toBe('in_progress');
    expect(bg.background).toBe(true);
    const busy = await client.responses.create({ input: 'next', previous_response_id: bg.id }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(OpenAI.ConflictError);
    const live = await getSse(`${gw.url}/v1/responses/${bg.id}?stream=true`, auth);
    expect(live.events[0].event).toBe('response.created');
    expect(live.events.at(-1)!.event).toBe('response.completed');
    expect(live.events.at(-1)!.json.response.output[0].content[0].text).toBe(REPLY('in the background'));
    expect((await client.responses.retrieve(bg.id)).status).toBe('completed');
  });

  it('store:false keeps nothing: not retrievable, not chainable, the chain it came from untouched, and no background run', async () => {
    const base = await client.responses.create({ input: 'stored base' });
    const off = await client.responses.create({ input: 'not stored', store: false, previous_response_id: base.id });
    expect(off).toMatchObject({ store: false, previous_response_id: base.id });
    expect(off.output_text).toBe(REPLY('not stored'));
    expect(await client.responses.retrieve(off.id).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    const chained = await client.responses
      .create({ input: 'x', previous_response_id: off.id })
      .catch((e: unknown) => e);
    expect(chained).toBeInstanceOf(OpenAI.NotFoundError);
    // A background response is fetched later by its id: without storing it, it would be lost.
    const lost = await client.responses.create({ input: 'x', background: true, store: false }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(OpenAI.BadRequestError);
    expect(lost).toMatchObject({ error: { param: 'store' } });
    const next = await client.responses.create({ input: '[[memory]] after', previous_response_id: base.id });
    expect(next.output_text).toBe('I can see 2 user messages in this conversation. Earlier: 1) "stored base".');
  });

  it("another tenant's response is an unknown id (404) on every route", async () => {
    const mine = await client.responses.create({ input: 'private' });
    const bob = new OpenAI({ apiKey: TOKEN_B, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const attempts = [
      bob.responses.retrieve(mine.id),
      bob.responses.inputItems.list(mine.id),
      bob.responses.cancel(mine.id),
      bob.responses.delete(mine.id),
      bob.responses.create({ input: 'steal', previous_response_id: mine.id }),
    ];
    for (const attempt of attempts) expect(await attempt.catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.responses.retrieve(mine.id)).id).toBe(mine.id);
  });

  it('answers bad input with 400 and never 500', async () => {
    const bad = async (body: Record<string, unknown>) => {
      const res = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return {
        status: res.status,
        body: (await res.json()) as { error: { type: string; message: string; code: string | null } },
      };
    };
    for (const body of [
      {},
      { input: 42 },
      { input: '' },
      { input: [] },
      { input: [{ role: 'wizard', content: 'x' }] },
      { input: [{ type: 'function_call_output', call_id: 'c', output: 'x' }] },
      { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] },
      {
        input: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'a' },
        ],
      },
      { input: 'x', metadata: { k: 42 } },
      { input: 'x', store: 'yes' },
      { input: 'x', instructions: ['not', 'a', 'string'] },
      { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] }] },
      // Log probabilities, which codex does not return.
      { input: 'x', top_logprobs: 3 },
      { input: 'x', include: ['message.output_text.logprobs'] },
      // State and limits kept nowhere here: a Conversations API conversation, a stored prompt, a cap on tool calls.
      { input: 'x', conversation: 'conv_123' },
      { input: 'x', prompt: { id: 'pmpt_123', version: '2' } },
      { input: 'x', max_tool_calls: 1 },
    ]) {
      const res = await bad(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.body.error.type).toBe('invalid_request_error');
      expect(res.body.error.message.length).toBeGreaterThan(5);
    }
    expect((await bad({ input: 'x', top_logprobs: 3 })).body.error).toMatchObject({ param: 'top_logprobs' });
    expect((await bad({ input: 'x', conversation: 'conv_123' })).body.error).toMatchObject({ param: 'conversation' });
    // Other `include` values pass (they ask for nothing codex cannot give here).
    const included = await client.responses.create({ input: 'x', include: ['reasoning.encrypted_content'] });
    expect(included.status).toBe('completed');
    const long = await bad({ input: 'x'.repeat(4000) });
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('context_length_exceeded');
    const unknown = await client.responses
      .create({ input: 'x', previous_response_id: 'resp_doesnotexist' })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    const traversal = await fetch(`${gw.url}/v1/responses/..%2F..%2Fetc%2Fpasswd`, { headers: auth });
    expect(traversal.status).toBe(404);
    const badQuery = await fetch(`${gw.url}/v1/responses/resp_x/input_items?limit=1000`, { headers: auth });
    expect(badQuery.status).toBe(400);
  });

  it('a provider failure is a 502 for a plain create (kept as failed) and response.failed in a stream', async () => {
    const failed = await client.responses.create({ input: '[[status: 500]] break' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect((failed as { status: number }).status).toBe(502);
    const res = await postSse(
      gw.url,
      '/v1/responses',
      { input: '[[status: 500]] break', stream: true },
      { headers: auth },
    );
    const last = res.events.at(-1)!;
    expect(last.event).toBe('response.failed');
    expect(last.json.response.status).toBe('failed');
    expect(last.json.response.error).toMatchObject({ code: 'server_error', message: expect.any(String) });
    expect((await client.responses.retrieve(last.json.response.id)).status).toBe('failed');
  });

  it('a client that disconnects mid-stream cancels its response: the turn is interrupted and codex lets go of the model', async () => {
    const offline = provider();
    // A turn that never ends by itself: one delta, then nothing until the model's client goes away.
    const res = await postSse(
      gw.url,
      '/v1/responses',
      { input: '[[stall: 1]] going away', stream: true },
      {
        headers: auth,
        until: (events) => events.some((e) => e.event === 'response.output_text.delta'),
      },
    );
    expect(res.aborted).toBe(true);
    const id = res.events[0].json.response.id;
    await until(() => running() === 0, 'no running turn');
    await until(() => offline.openStreams === 0, "codex closed the model's stream");
    await until(async () => (await client.responses.retrieve(id)).status === 'cancelled', 'the response is cancelled');
  });

  it('the curl examples of the Codex HTTP Server README work (basic, with instructions, POST /health)', async () => {
    const curl = async (args: string[]) => (await promisify(execFile)('curl', ['-s', ...args])).stdout;
    // The README's commands, with only the host, port and token of this test gateway.
    const create = async (body: string) =>
      JSON.parse(
        await curl([
          '-X',
          'POST',
          `${gw.url}/v1/responses`,
          '-H',
          'Content-Type: application/json',
          '-H',
          `Authorization: Bearer ${TOKEN_A}`,
          '-d',
          body,
        ]),
      );
    const basic = await create('{"input": "Hello, can you help me with a coding task?"}');
    expect(basic).toMatchObject({ object: 'response', status: 'completed' });
    expect(basic.output[0].content[0].text).toBe(REPLY('Hello, can you help me with a coding task?'));
    const withInstructions = await create(
      '{\n    "input": "Create a Python function to calculate fibonacci numbers",\n    "instructions": "Use recursive approach and add comments",\n    "store": true\n  }',
    );
    expect(withInstructions).toMatchObject({
      status: 'completed',
      store: true,
      instructions: 'Use recursive approach and add comments',
    });
    const lastInput = conversation(provider().requests.at(-1)!.body.input as Message[]);
    expect(lastInput).toContain('developer: Use recursive approach and add comments');
    expect(lastInput.at(-1)).toBe('user: Create a Python function to calculate fibonacci numbers');
    expect(JSON.parse(await curl(['-X', 'POST', `${gw.url}/health`]))).toEqual({
      status: 'healthy',
      service: 'codex-gateway',
    });
  });
});

describe('OpenAI Responses state across a gateway restart', () => {
  it('retrieve, replay and previous_response_id work after the gateway restarts on the same data dir', async () => {
    const first = await startGateway('responses-restart', { CODEX_GATEWAY_TOKEN: TOKEN_A });
    const dataDir = first.dataDir;
    let created: OpenAI.Responses.Response;
    let older: OpenAI.Responses.Response;
    try {
      const client = new OpenAI({ apiKey: TOKEN_A, baseURL: `${first.url}/v1`, maxRetries: 0 });
      created = await client.responses.create({ input: 'remember the number 7', metadata: { run: 'one' } });
      older = await client.responses.create({ input: 'a response kept as an older gateway kept it' });
      expect(codexPidsWith(dataDir).length).toBeGreaterThan(0);
    } finally {
      await first.close();
    }
    expect(await survivingCodexProcesses(dataDir)).toBe('');
    // A finished response is one file, its stream events in its record.
    const [tenantDir] = readdirSync(join(dataDir, 'responses'));
    const folder = join(dataDir, 'responses', tenantDir);
    expect(readdirSync(folder).sort()).toEqual([`${created.id}.json`, `${older.id}.json`].sort());
    const recordOf = (id: string) => JSON.parse(readFileSync(join(folder, `${id}.json`), 'utf8'));
    const events = { [created.id]: recordOf(created.id).events, [older.id]: recordOf(older.id).events };
    for (const id of [created.id, older.id]) {
      expect(events[id][0]).toMatchObject({ type: 'response.created', sequence_number: 0 });
      expect(events[id].at(-1)).toMatchObject({ type: 'response.completed' });
    }
    // Records written before the events moved into them keep the events in a file beside the record.
    const { events: olderEvents, ...olderRecord } = recordOf(older.id);
    writeFileSync(join(folder, `${older.id}.events.json`), JSON.stringify(olderEvents));
    writeFileSync(join(folder, `${older.id}.json`), JSON.stringify(olderRecord));
    const second = await startGateway('responses-restart', { CODEX_GATEWAY_TOKEN: TOKEN_A }, { dataDir });
    try {
      const client = new OpenAI({ apiKey: TOKEN_A, baseURL: `${second.url}/v1`, maxRetries: 0 });
      expect(await client.responses.retrieve(created.id)).toEqual(created);
      expect(await client.responses.retrieve(older.id)).toEqual(older);
      const next = await client.responses.create({ input: '[[memory]] what number', previous_response_id: created.id });
      expect(next.output_text).toBe(
        'I can see 2 user messages in this conversation. Earlier: 1) "remember the number 7".',
      );
      for (const response of [created, older]) {
        const replay = await getSse(`${second.url}/v1/responses/${response.id}?stream=true`, {
          authorization: `Bearer ${TOKEN_A}`,
        });
        expect(replay.events.map((e) => e.json)).toEqual(events[response.id]);
        // (the SDK adds its `output_text` convenience to what it returns)
        const { output_text: _, ...wire } = response;
        expect(replay.events.at(-1)!.json.response).toEqual(wire);
      }
      // Deleting one removes its files, the older layout's too.
      await client.responses.delete(older.id);
      expect(readdirSync(folder).filter((f) => f.startsWith(older.id))).toEqual([]);
    } finally {
      await second.close();
    }
  });
});

describe('OpenAI Responses timeouts and shutdown', () => {
  it('a turn past CODEX_TIMEOUT_SECONDS ends incomplete (reason timeout); a response running at shutdown is kept as cancelled', async () => {
    const gw = await startGateway('responses-timeout', { CODEX_TIMEOUT_SECONDS: '1' });
    const dataDir = gw.dataDir;
    let runningId: string;
    try {
      const client = new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const res = await postSse(gw.url, '/v1/responses', { input: '[[slow]] too slow', stream: true });
      const last = res.events.at(-1)!;
      expect(last.event).toBe('response.incomplete');
      expect(last.json.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'timeout' } });
      const plain = await client.responses.create({ input: '[[slow]] too slow again' });
      expect(plain).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'timeout' } });
      const bg = await client.responses.create({ input: '[[hang]] never answers', background: true });
      runningId = bg.id;
    } finally {
      await gw.close();
    }
    const again = await startGateway('responses-timeout', {}, { dataDir });
    try {
      const client = new OpenAI({ apiKey: 'unused', baseURL: `${again.url}/v1`, maxRetries: 0 });
      expect((await client.responses.retrieve(runningId)).status).toBe('cancelled');
    } finally {
      await again.close();
    }
  });
});
