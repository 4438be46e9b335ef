import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ChatOpenAI } from '@langchain/openai';
import { type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool as langchainTool } from '@langchain/core/tools';
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool as agentTool } from '@openai/agents';
import { z } from 'zod';
import type { OfflineProvider } from '@app/offline-provider';
import { OfflineProviderHost } from '../apps/gateway/src/codex/offline-provider.host';
import { startGateway, type TestGateway } from './support/gateway';
import { requestsWith, turnOf } from './support/provider-requests';

/**
 * The agent frameworks people point at an OpenAI endpoint, unmodified, against the gateway: their tool loops
 * run (each continuation the same codex turn) and their structured output comes back parsed.
 */
const TOKEN = 'frameworks-token';
const MODEL = 'gpt-5-codex';
const call = (name: string, args: Record<string, unknown>) => `[[tool: ${name} ${JSON.stringify(args)}]]`;

describe('agent frameworks against the gateway (app-server backend)', () => {
  let gw: TestGateway;
  let provider: OfflineProvider;

  beforeAll(async () => {
    setTracingDisabled(true);
    gw = await startGateway('agent-frameworks', { CODEX_GATEWAY_TOKEN: TOKEN });
    provider = gw.app.get(OfflineProviderHost).instance!;
  });

  afterAll(async () => {
    await gw?.close();
  });

  /** The model request that carried a result whose text is `output` back, and the one that asked for the call. */
  const sameTurn = (marker: string) => {
    const asked = requestsWith(provider, marker)[0];
    const answered = provider.requests.find(
      (r) =>
        r !== asked &&
        JSON.stringify(r.body.input ?? []).includes(marker) &&
        JSON.stringify(r.body.input ?? []).includes('function_call_output'),
    );
    expect(answered).toBeDefined();
    return turnOf(answered!) === turnOf(asked);
  };

  describe('OpenAI Agents SDK', () => {
    const getWeather = agentTool({
      name: 'get_weather',
      description: 'The weather in a city',
      parameters: z.object({ city: z.string() }),
      execute: ({ city }) => Promise.resolve(`sunny in ${city}`),
    });

    it.each([
      ['responses', true],
      ['chat_completions', false],
    ] as const)('an agent with a function tool completes its loop on %s', async (api, useResponses) => {
      const runner = new Runner({
        modelProvider: new OpenAIProvider({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, useResponses }),
      });
      const agent = new Agent({
        name: 'weather',
        instructions: 'Answer about the weather.',
        model: MODEL,
        tools: [getWeather],
      });
      const marker = `agents-${api}`;
      const result = await runner.run(agent, `${marker} ${call('get_weather', { city: 'Paris' })}`);
      expect(result.finalOutput).toBe('get_weather returned: sunny in Paris');
      expect(sameTurn(marker)).toBe(true);
    });

    it('outputType with a zod schema', async () => {
      const runner = new Runner({
        modelProvider: new OpenAIProvider({ apiKey: TOKEN, baseURL: `${gw.url}/v1`, useResponses: true }),
      });
      const agent = new Agent({
        name: 'extractor',
        instructions: 'Extract the city.',
        model: MODEL,
        outputType: z.object({ city: z.string(), population: z.number() }),
      });
      const result = await runner.run(agent, 'agents-output [[json: {"city":"Oslo","population":709000}]]');
      expect(result.finalOutput).toEqual({ city: 'Oslo', population: 709000 });
    });
  });

  describe('LangChain', () => {
    const model = (useResponsesApi = true) =>
      new ChatOpenAI({
        model: MODEL,
        apiKey: TOKEN,
        configuration: { baseURL: `${gw.url}/v1` },
        maxRetries: 0,
        useResponsesApi,
      });

    it.each([
      ['responses', true],
      ['chat completions', false],
    ] as const)('bindTools and a tool loop (%s)', async (api, useResponsesApi) => {
      const getWeather = langchainTool(({ city }: { city: string }) => `rainy in ${city}`, {
        name: 'get_weather',
        description: 'The weather in a city',
        schema: z.object({ city: z.string() }),
      });
      const bound = model(useResponsesApi).bindTools([getWeather]);
      const marker = `langchain-loop-${api}`;
      const messages: BaseMessage[] = [new HumanMessage(`${marker} ${call('get_weather', { city: 'Bern' })}`)];
      const first = await bound.invoke(messages);
      expect(first.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'Bern' } })]);
      messages.push(first);
      for (const tc of first.tool_calls!) {
        messages.push(
          new ToolMessage({
            tool_call_id: tc.id!,
            content: String(await getWeather.invoke(tc.args as { city: string })),
          }),
        );
      }
      const final = await bound.invoke(messages);
      expect(final.text).toBe('get_weather returned: rainy in Bern');
      expect(sameTurn(marker)).toBe(true);
    });

    it.each(['jsonSchema', 'functionCalling'] as const)('withStructuredOutput (%s)', async (method) => {
      const Person = z.object({ name: z.string(), age: z.number() });
      const structured = model().withStructuredOutput(Person, { method });
      const person = await structured.invoke(`langchain-structured-${method} [[json: {"name":"Ada","age":36}]]`);
      expect(person).toEqual({ name: 'Ada', age: 36 });
    });
  });

  it('Vercel AI SDK: generateText with a tool and stopWhen: stepCountIs(3) (responses and chat), generateObject', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        require.resolve('ts-node/dist/bin'),
        '--transpile-only',
        join(__dirname, 'support', 'vercel-ai-client.ts'),
        gw.url,
        TOKEN,
      ],
      { cwd: join(__dirname, '..'), timeout: 60_000 },
    );
    const got = JSON.parse(stdout) as Record<string, unknown>;
    for (const api of ['responses', 'chat']) {
      expect(got[api]).toEqual({ steps: 2, text: 'get_weather returned: windy in Lima' });
      expect(sameTurn(`vercel-${api}`)).toBe(true);
    }
    expect(got.object).toEqual({ title: 'Gateway', tags: ['codex', 'openai'] });
  });
});
