import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { AppServerTransport } from '@app/codex-transport';
import type { OfflineProvider } from '@app/offline-provider';
import { OfflineProviderHost } from '../apps/gateway/src/codex/offline-provider.host';
import { startGateway, type TestGateway } from './support/gateway';
import { inputOf, requestsWith, requestWithOutput, toolNames, turnOf } from './support/provider-requests';

/**
 * The client's own function tools and structured output on Chat Completions and Responses, through codex
 * (its dynamic tools and outputSchema), read with the official openai SDK. A continuation must be the same
 * codex turn: the model request that carried the client's result back names the turn that made the call.
 */
const M = 'gpt-5-codex';
const TOKENS = 'alice:alice-token,bob:bob-token';

const weather: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const weatherTool: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

const call = (name: string, args: Record<string, unknown>) => `[[tool: ${name} ${JSON.stringify(args)}]]`;

describe('client tools and structured output (app-server backend, openai SDK)', () => {
  let gw: TestGateway;
  let alice: OpenAI;
  let bob: OpenAI;
  let provider: OfflineProvider;

  beforeAll(async () => {
    gw = await startGateway('openai-tools', { CODEX_GATEWAY_TOKENS: TOKENS });
    alice = new OpenAI({ apiKey: 'alice-token', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    bob = new OpenAI({ apiKey: 'bob-token', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    provider = gw.app.get(OfflineProviderHost).instance!;
  });

  afterAll(async () => {
    await gw?.close();
  });

  const running = () => gw.app.get(AppServerTransport).stats().runningTurns;

  describe('Chat Completions', () => {
    it('two calls in one response come back together; their results continue the same codex turn', async () => {
      const question = `tools-chat-1 ${call('get_weather', { city: 'Paris' })} ${call('get_weather', { city: 'Oslo' })}`;
      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: question }];
      const first = await alice.chat.completions.create({ model: M, messages, tools: [weather] });
      const choice = first.choices[0];
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      const calls = choice.message.tool_calls as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall[];
      expect(calls.map((c) => [c.type, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
        ['function', 'get_weather', { city: 'Paris' }],
        ['function', 'get_weather', { city: 'Oslo' }],
      ]);
      // The model was offered the client's function next to codex's own tools.
      const [asked] = requestsWith(provider, 'tools-chat-1');
      expect(toolNames(asked)).toEqual(expect.arrayContaining(['get_weather', 'exec_command']));
      // The codex turn waits for the results: it still runs.
      expect(running()).toBe(1);

      messages.push(choice.message);
      for (const c of calls) {
        messages.push({
          role: 'tool',
          tool_call_id: c.id,
          content: `sunny in ${JSON.parse(c.function.arguments).city}`,
        });
      }
      const { data: second, response } = await alice.chat.completions
        .create({ model: M, messages, tools: [weather] })
        .withResponse();
      expect(response.headers.get('x-codex-tool-results')).toBe('resumed');
      expect(second.choices[0].finish_reason).toBe('stop');
      expect(second.choices[0].message.content).toBe(
        'get_weather returned: sunny in Paris\nget_weather returned: sunny in Oslo',
      );
      // codex sent both results to the model in the same turn that made the calls.
      const back = requestWithOutput(provider, calls[0].id)!;
      expect(
        inputOf(back)
          .filter((i) => i.type === 'function_call_output')
          .map((i) => i.call_id),
      ).toEqual(calls.map((c) => c.id));
      expect(turnOf(back)).toBe(turnOf(asked));
      expect(second.usage!.prompt_tokens).toBeGreaterThan(0);
    });

    it('streams delta.tool_calls with finish_reason tool_calls, and the continuation as a stream', async () => {
      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
        { role: 'user', content: `tools-chat-2 ${call('get_weather', { city: 'Rome' })}` },
      ];
      const stream = await alice.chat.completions.create({ model: M, messages, tools: [weather], stream: true });
      const deltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(finish).toBe('tool_calls');
      expect(deltas).toHaveLength(1);
      expect(deltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } });
      const id = deltas[0].id!;
      messages.push({
        role: 'assistant',
        content: null,
        tool_calls: [
          { id, type: 'function', function: { name: 'get_weather', arguments: deltas[0].function!.arguments! } },
        ],
      });
      messages.push({ role: 'tool', tool_call_id: id, content: 'foggy' });
      const next = await alice.chat.completions.create({ model: M, messages, tools: [weather], stream: true });
      let text = '';
      for await (const chunk of next) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('get_weather returned: foggy');
      expect(turnOf(requestWithOutput(provider, id)!)).toBe(turnOf(requestsWith(provider, 'tools-chat-2')[0]));
    });

    it("codex's own tools keep working next to the client's: a command runs inside the turn", async () => {
      const completion = await alice.chat.completions.create({
        model: M,
        messages: [{ role: 'user', content: 'tools-chat-own [[shell: echo from-codex]]' }],
        tools: [weather],
      });
      expect(completion.choices[0].finish_reason).toBe('stop');
      expect(completion.choices[0].message.content).toMatch(/^Command output:\n(.*\n)*from-codex\n$/);
    });

    it("the SDK's own tool loop (runTools) completes: call, result, final answer", async () => {
      const runner = alice.chat.completions.runTools({
        model: M,
        messages: [{ role: 'user', content: `tools-chat-3 ${call('get_weather', { city: 'Lima' })}` }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'The weather in a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
              function: (args: { city: string }) => `warm in ${args.city}`,
              parse: JSON.parse,
            },
          },
        ],
      });
      expect(await runner.finalContent()).toBe('get_weather returned: warm in Lima');
    });

    it('chat.completions.parse with a zod schema: the model is held to it, in strict mode', async () => {
      const Person = z.object({ name: z.string(), age: z.number().int(), nickname: z.string().nullable() });
      const parsed = await alice.chat.completions.parse({
        model: M,
        messages: [{ role: 'user', content: 'tools-chat-4 [[json: {"name":"Ann","age":41,"nickname":null}]]' }],
        response_format: zodResponseFormat(Person, 'person'),
      });
      expect(parsed.choices[0].message.parsed).toEqual({ name: 'Ann', age: 41, nickname: null });
      const [asked] = requestsWith(provider, 'tools-chat-4');
      expect(asked.body.text).toMatchObject({ format: { type: 'json_schema', strict: true } });
    });

    it('a schema strict mode would refuse is made strict for codex, and the answer mapped back', async () => {
      const completion = await alice.chat.completions.create({
        model: M,
        messages: [{ role: 'user', content: 'tools-chat-4b [[json: {"name":"Ann","nickname":null}]]' }],
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'person',
            schema: {
              type: 'object',
              properties: { name: { type: 'string' }, nickname: { type: 'string' } },
              required: ['name'],
            },
          },
        },
      });
      // The optional field the model had to answer (as null) is left out again.
      expect(JSON.parse(completion.choices[0].message.content!)).toEqual({ name: 'Ann' });
      const schema = (
        requestsWith(provider, 'tools-chat-4b')[0].body.text as { format: { schema: Record<string, unknown> } }
      ).format.schema;
      expect(schema).toMatchObject({
        required: ['name', 'nickname'],
        additionalProperties: false,
        properties: { nickname: { type: ['string', 'null'] } },
      });
    });

    it('an answer that does not match the schema is an error, never passed off as valid', async () => {
      const Person = z.object({ name: z.string(), age: z.number().int() });
      const error = await alice.chat.completions
        .create({
          model: M,
          messages: [{ role: 'user', content: 'tools-chat-5 [[json: {"name":"Ann","age":"old"}]]' }],
          response_format: zodResponseFormat(Person, 'person'),
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      expect((error as Error).message).toMatch(/does not match the schema: \/age/);
    });

    it('json_object gets JSON or a clear error', async () => {
      const ok = await alice.chat.completions.create({
        model: M,
        messages: [{ role: 'user', content: 'tools-chat-6 [[json: {"a":1}]]' }],
        response_format: { type: 'json_object' },
      });
      expect(JSON.parse(ok.choices[0].message.content!)).toEqual({ a: 1 });
      const error = await alice.chat.completions
        .create({
          model: M,
          messages: [{ role: 'user', content: 'tools-chat-6b prose' }],
          response_format: { type: 'json_object' },
        })
        .catch((e: unknown) => e);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    });

    it('tool_choice: none offers no client tools; a named function or required is answered as that call', async () => {
      const none = await alice.chat.completions.create({
        model: M,
        messages: [{ role: 'user', content: 'tools-chat-7 plain' }],
        tools: [weather],
        tool_choice: 'none',
      });
      expect(none.choices[0].finish_reason).toBe('stop');
      expect(toolNames(requestsWith(provider, 'tools-chat-7')[0])).not.toContain('get_weather');

      const forced = await alice.chat.completions.create({
        model: M,
        messages: [{ role: 'user', content: 'tools-chat-8 [[json: {"city":"Bern"}]]' }],
        tools: [weather],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      });
      expect(forced.choices[0].finish_reason).toBe('tool_calls');
      const forcedCall = forced.choices[0].message
        .tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      expect(forcedCall.function).toEqual({ name: 'get_weather', arguments: '{"city":"Bern"}' });
      // The function's parameters were the answer's schema.
      expect(requestsWith(provider, 'tools-chat-8')[0].body.text).toMatchObject({
        format: { schema: { properties: { city: { type: 'string' } } } },
      });

      const required = await alice.chat.completions.create({
        model: M,
        messages: [
          { role: 'user', content: 'tools-chat-9 [[json: {"name":"get_weather","arguments":{"city":"Kyiv"}}]]' },
        ],
        tools: [weather],
        tool_choice: 'required',
      });
      const requiredCall = required.choices[0].message
        .tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      expect(requiredCall.function).toEqual({ name: 'get_weather', arguments: '{"city":"Kyiv"}' });
    });

    it('refuses what it cannot honour: parallel_tool_calls false, non-function tools, a tool_choice naming no tool', async () => {
      const refused = async (body: Record<string, unknown>) => {
        const error = (await alice.chat.completions
          .create({ model: M, messages: [{ role: 'user', content: 'x' }], ...body } as never)
          .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
        expect(error.status).toBe(400);
        return error.message;
      };
      expect(await refused({ tools: [weather], parallel_tool_calls: false })).toMatch(/parallel_tool_calls/);
      expect(await refused({ tools: [{ type: 'custom', custom: { name: 'x' } }] })).toMatch(/only function tools/);
      expect(
        await refused({ tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }),
      ).toMatch(/not among tools/);
      expect(
        await refused({ tools: [{ type: 'function', function: { name: 'exec_command', parameters: {} } }] }),
      ).toMatch(/codex's own tools/);
    });

    it('a result for an unknown call is a 400; another tenant cannot answer a waiting call', async () => {
      const unknown = (await alice.chat.completions
        .create({
          model: M,
          messages: [
            { role: 'user', content: 'x' },
            { role: 'tool', tool_call_id: 'call_nope', content: 'r' },
          ],
        })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(unknown.status).toBe(400);
      expect(unknown.message).toMatch(/tool_call_id call_nope/);

      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
        { role: 'user', content: `tools-chat-10 ${call('get_weather', { city: 'Quito' })}` },
      ];
      const first = await alice.chat.completions.create({ model: M, messages, tools: [weather] });
      const id = first.choices[0].message.tool_calls![0].id;
      messages.push(first.choices[0].message, { role: 'tool', tool_call_id: id, content: 'from bob' });
      // bob's request carrying alice's call id: not alice's waiting turn; bob's own conversation is replayed.
      const { response: bobs } = await bob.chat.completions
        .create({ model: M, messages, tools: [weather] })
        .withResponse();
      expect(bobs.headers.get('x-codex-tool-results')).toBe('replayed');
      expect(running()).toBe(1); // alice's turn still waits
      messages[2] = { role: 'tool', tool_call_id: id, content: 'from alice' };
      const { data, response } = await alice.chat.completions
        .create({ model: M, messages, tools: [weather] })
        .withResponse();
      expect(response.headers.get('x-codex-tool-results')).toBe('resumed');
      expect(data.choices[0].message.content).toBe('get_weather returned: from alice');
    });
  });

  describe('Responses', () => {
    it('function_call items (stream and not) and function_call_output continuing the same turn', async () => {
      const first = await alice.responses.create({
        model: M,
        input: `tools-resp-1 ${call('get_weather', { city: 'Lyon' })} ${call('get_weather', { city: 'Nice' })}`,
        tools: [weatherTool],
      });
      expect(first.status).toBe('completed');
      const calls = first.output.filter(
        (o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call',
      );
      expect(calls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
        ['get_weather', { city: 'Lyon' }],
        ['get_weather', { city: 'Nice' }],
      ]);
      const { data: second, response } = await alice.responses
        .create({
          model: M,
          previous_response_id: first.id,
          input: calls.map((c) => ({
            type: 'function_call_output' as const,
            call_id: c.call_id,
            output: `mild in ${JSON.parse(c.arguments).city}`,
          })),
          tools: [weatherTool],
        })
        .withResponse();
      expect(response.headers.get('x-codex-tool-results')).toBe('resumed');
      expect(second.output_text).toBe('get_weather returned: mild in Lyon\nget_weather returned: mild in Nice');
      expect(turnOf(requestWithOutput(provider, calls[0].call_id)!)).toBe(
        turnOf(requestsWith(provider, 'tools-resp-1')[0]),
      );

      const stream = await alice.responses.create({
        model: M,
        input: `tools-resp-2 ${call('get_weather', { city: 'Bonn' })}`,
        tools: [weatherTool],
        stream: true,
      });
      const types: string[] = [];
      let done: OpenAI.Responses.Response | null = null;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.completed') done = event.response;
      }
      expect(types).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.completed',
      ]);
      expect(done!.output[0]).toMatchObject({
        type: 'function_call',
        name: 'get_weather',
        arguments: '{"city":"Bonn"}',
      });
    });

    it('without previous_response_id the whole input is replayed as items when no turn waits', async () => {
      const { data, response } = await alice.responses
        .create({
          model: M,
          input: [
            { role: 'user', content: 'tools-resp-3 what is the weather?' },
            { type: 'function_call', call_id: 'call_replayed', name: 'get_weather', arguments: '{"city":"Riga"}' },
            { type: 'function_call_output', call_id: 'call_replayed', output: 'snow' },
          ],
          tools: [weatherTool],
        })
        .withResponse();
      expect(response.headers.get('x-codex-tool-results')).toBe('replayed');
      expect(data.output_text).toBe('get_weather returned: snow');
      // Real items, not a transcript.
      const sent = inputOf(requestWithOutput(provider, 'call_replayed')!);
      expect(sent.some((i) => i.type === 'function_call' && i.call_id === 'call_replayed')).toBe(true);
      const unpaired = (await alice.responses
        .create({ input: [{ type: 'function_call_output', call_id: 'call_orphan', output: 'x' }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(unpaired.status).toBe(400);
      expect(unpaired.message).toMatch(/No tool call found for function call output with call_id call_orphan/);
    });

    it('responses.parse with a zod schema; text.format is echoed because it was applied', async () => {
      const Answer = z.object({ answer: z.string(), confidence: z.number() });
      const parsed = await alice.responses.parse({
        model: M,
        input: 'tools-resp-4 [[json: {"answer":"42","confidence":0.9}]]',
        text: { format: zodTextFormat(Answer, 'answer') },
      });
      expect(parsed.output_parsed).toEqual({ answer: '42', confidence: 0.9 });
      expect(parsed.text?.format).toMatchObject({ type: 'json_schema', name: 'answer' });
      expect(requestsWith(provider, 'tools-resp-4')[0].body.text).toMatchObject({ format: { type: 'json_schema' } });
    });

    it('instructions apply to their response only (the recorded model requests show it)', async () => {
      const developerTexts = (marker: string) =>
        inputOf(requestsWith(provider, marker).at(-1)!)
          .filter((i) => i.type === 'message' && i.role === 'developer')
          .map((i) => JSON.stringify(i.content));
      const one = await alice.responses.create({ model: M, input: 'tools-resp-5a', instructions: 'PIRATE-VOICE' });
      expect(developerTexts('tools-resp-5a').join()).toContain('PIRATE-VOICE');
      const two = await alice.responses.create({
        model: M,
        input: 'tools-resp-5b [[memory]]',
        previous_response_id: one.id,
      });
      expect(developerTexts('tools-resp-5b').join()).not.toContain('PIRATE-VOICE');
      // The conversation itself goes on.
      expect(two.output_text).toContain('1) "tools-resp-5a"');
      const three = await alice.responses.create({
        model: M,
        input: 'tools-resp-5c',
        previous_response_id: two.id,
        instructions: 'TERSE-VOICE',
      });
      expect(three.status).toBe('completed');
      const texts = developerTexts('tools-resp-5c').join();
      expect(texts).toContain('TERSE-VOICE');
      expect(texts).not.toContain('PIRATE-VOICE');
    });
  });

  it("tools that differ from a thread's get a thread that offers exactly them (session and previous_response_id)", async () => {
    const clock: OpenAI.Chat.Completions.ChatCompletionTool = {
      type: 'function',
      function: { name: 'get_time', parameters: { type: 'object', properties: {} } },
    };
    const headers = { 'X-Codex-Session-Id': 'tools-change' };
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'tools-swap-1' }];
    const first = await alice.chat.completions.create({ model: M, messages, tools: [weather] }, { headers });
    messages.push(first.choices[0].message, { role: 'user', content: 'tools-swap-2 [[memory]]' });
    const second = await alice.chat.completions.create({ model: M, messages, tools: [clock] }, { headers });
    expect(toolNames(requestsWith(provider, 'tools-swap-1')[0])).toContain('get_weather');
    const swapped = toolNames(requestsWith(provider, 'tools-swap-2')[0]);
    expect(swapped).toContain('get_time');
    expect(swapped).not.toContain('get_weather');
    expect(second.choices[0].message.content).toContain('1) "tools-swap-1"');

    const clockTool: OpenAI.Responses.FunctionTool = {
      type: 'function',
      name: 'get_time',
      parameters: { type: 'object', properties: {} },
      strict: false,
    };
    const r1 = await alice.responses.create({ model: M, input: 'tools-swap-3', tools: [weatherTool] });
    const r2 = await alice.responses.create({
      model: M,
      input: 'tools-swap-4 [[memory]]',
      previous_response_id: r1.id,
      tools: [clockTool],
    });
    const offered = toolNames(requestsWith(provider, 'tools-swap-4').at(-1)!);
    expect(offered).toContain('get_time');
    expect(offered).not.toContain('get_weather');
    expect(r2.output_text).toContain('1) "tools-swap-3"');
  });

  it('requests without a session id keep no session record (nothing grows per stateless request)', async () => {
    const dir = join(gw.dataDir, 'chat-sessions');
    const count = () => (existsSync(dir) ? readdirSync(dir, { recursive: true }).length : 0);
    const before = count();
    for (const i of [1, 2, 3]) {
      await alice.chat.completions.create({
        model: M,
        messages: [{ role: 'user', content: `stateless ${i}` }],
        tools: [weather],
      });
    }
    expect(count()).toBe(before);
  });

  it("a session id is the tenant's own: another tenant's same id is another session", async () => {
    const headers = { 'X-Codex-Session-Id': 'team-standup' };
    const ask = (client: OpenAI, content: string) =>
      client.chat.completions.create({ model: M, messages: [{ role: 'user', content }] }, { headers });
    await ask(alice, 'alice private note');
    const bobs = await ask(bob, 'bob here [[memory]]');
    expect(bobs.choices[0].message.content).toBe('I can see 1 user messages in this conversation. Earlier: none.');
    const alices = await ask(alice, 'alice again [[memory]]');
    expect(alices.choices[0].message.content).toContain('1) "alice private note"');
  });

  it('provider errors in OpenAI terms: 400 with its message, 401 as the gateway credentials, 429', async () => {
    const status = async (directive: string) => {
      const error = (await alice.chat.completions
        .create({ model: M, messages: [{ role: 'user', content: `x ${directive}` }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      return { status: error.status, message: error.message, code: error.code, headers: error.headers };
    };
    expect(await status('[[status: 400]]')).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^400 offline provider: scripted HTTP 400$/),
    });
    expect(await status('[[too-long]]')).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect(await status('[[status: 401]]')).toMatchObject({
      status: 502,
      message: expect.stringMatching(/refused the gateway's credentials/),
    });
    const limited = await status('[[status: 429]]');
    expect(limited.status).toBe(429);
    expect(limited.headers?.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('client tools: timeout and restart', () => {
  it('a call nobody answers in time fails for codex and the turn goes on; the late result is replayed', async () => {
    const gw = await startGateway('openai-tools-timeout', { CODEX_TOOL_CALL_TIMEOUT_SECONDS: '1' });
    try {
      const client = new OpenAI({ apiKey: 'x', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const provider = gw.app.get(OfflineProviderHost).instance!;
      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
        { role: 'user', content: `timeout-1 ${call('get_weather', { city: 'Baku' })}` },
      ];
      const first = await client.chat.completions.create({ model: M, messages, tools: [weather] });
      const id = first.choices[0].message.tool_calls![0].id;
      // codex hears the call failed (the gateway's timeout answer) and finishes the turn by itself.
      const failed = await waitFor(() => requestWithOutput(provider, id));
      expect(JSON.stringify(inputOf(failed))).toMatch(/did not return a result for get_weather within 1 s/);
      await waitFor(() => gw.app.get(AppServerTransport).stats().runningTurns === 0 || undefined);
      messages.push(first.choices[0].message, { role: 'tool', tool_call_id: id, content: 'late' });
      const { data, response } = await client.chat.completions
        .create({ model: M, messages, tools: [weather] })
        .withResponse();
      expect(response.headers.get('x-codex-tool-results')).toBe('replayed');
      expect(data.choices[0].message.content).toBe('get_weather returned: late');
    } finally {
      await gw.close();
    }
  });

  it('a gateway restarted between call and result replays the conversation (Responses and Chat)', async () => {
    let gw = await startGateway('openai-tools-restart');
    const dataDir = gw.dataDir;
    let client = new OpenAI({ apiKey: 'x', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const first = await client.responses.create({
      model: M,
      input: `restart-1 ${call('get_weather', { city: 'Oran' })}`,
      tools: [weatherTool],
    });
    const fc = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    const chatMessages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: 'user', content: `restart-2 ${call('get_weather', { city: 'Fez' })}` },
    ];
    const chatFirst = await client.chat.completions.create({ model: M, messages: chatMessages, tools: [weather] });
    await gw.close();
    gw = await startGateway('openai-tools-restart', {}, { dataDir });
    try {
      client = new OpenAI({ apiKey: 'x', baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const provider = gw.app.get(OfflineProviderHost).instance!;
      const { data, response } = await client.responses
        .create({
          model: M,
          previous_response_id: first.id,
          input: [{ type: 'function_call_output', call_id: fc.call_id, output: 'dry' }],
          tools: [weatherTool],
        })
        .withResponse();
      expect(response.headers.get('x-codex-tool-results')).toBe('replayed');
      expect(data.output_text).toBe('get_weather returned: dry');
      expect(
        inputOf(requestWithOutput(provider, fc.call_id)!).some(
          (i) => i.type === 'function_call' && i.call_id === fc.call_id,
        ),
      ).toBe(true);

      const id = chatFirst.choices[0].message.tool_calls![0].id;
      chatMessages.push(chatFirst.choices[0].message, { role: 'tool', tool_call_id: id, content: 'windy' });
      const chat = await client.chat.completions
        .create({ model: M, messages: chatMessages, tools: [weather] })
        .withResponse();
      expect(chat.response.headers.get('x-codex-tool-results')).toBe('replayed');
      expect(chat.data.choices[0].message.content).toBe('get_weather returned: windy');
    } finally {
      await gw.close();
    }
  });
});

/** Polls `check` (every 50 ms, at most 20 s) until it returns a value. */
async function waitFor<T>(check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
