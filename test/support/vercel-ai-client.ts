/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai`, ES modules only) against a gateway, run as its own Node process
 * (Node's `require` loads ES modules; Jest's module loader does not): `node … vercel-ai-client.ts URL TOKEN`
 * prints one JSON object with what each scenario got.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, stepCountIs, tool } from 'ai';
import { z } from 'zod';

const MODEL = 'gpt-5-codex';

async function main(): Promise<void> {
  const [url, token] = process.argv.slice(2);
  const openai = createOpenAI({ apiKey: token, baseURL: `${url}/v1` });
  const out: Record<string, unknown> = {};
  for (const api of ['responses', 'chat'] as const) {
    const result = await generateText({
      model: api === 'chat' ? openai.chat(MODEL) : openai.responses(MODEL),
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: ({ city }) => Promise.resolve(`windy in ${city}`),
        }),
      },
      stopWhen: stepCountIs(3),
      prompt: `vercel-${api} [[tool: get_weather {"city":"Lima"}]]`,
    });
    out[api] = { steps: result.steps.length, text: result.text };
  }
  const { object } = await generateObject({
    model: openai.responses(MODEL),
    schema: z.object({ title: z.string(), tags: z.array(z.string()) }),
    prompt: 'vercel-object [[json: {"title":"Gateway","tags":["codex","openai"]}]]',
  });
  out.object = object;
  process.stdout.write(JSON.stringify(out));
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
