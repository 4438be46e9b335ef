import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppServerTransport, modelCatalogEntry } from '@app/codex-transport';
import { OfflineProvider } from '@app/offline-provider';
import { startGateway, type TestGateway } from './support/gateway';
import { makeDataDir } from './support/harness';
import { postSse } from './support/sse';

/**
 * `CODEX_MODEL_CATALOG` on a provider of the operator's (not the gateway's own offline provider, for which the
 * gateway writes a catalog itself): a model codex does not know runs on the catalog's metadata, without
 * codex's "Unknown model" warnings.
 */
describe('CODEX_MODEL_CATALOG (a provider whose models codex does not know)', () => {
  const provider = new OfflineProvider();
  let gw: TestGateway;

  beforeAll(async () => {
    await provider.start();
    const catalog = join(makeDataDir('model-catalog-file'), 'models.json');
    const houseCoder = {
      ...modelCatalogEntry('house-coder'),
      base_instructions: 'You are House Coder, of the catalog.',
    };
    writeFileSync(catalog, JSON.stringify({ models: [houseCoder] }));
    gw = await startGateway('model-catalog', {
      CODEX_API_BASE_URL: provider.baseUrl,
      CODEX_MODEL: 'house-coder',
      CODEX_MODEL_CATALOG: catalog,
    });
  });

  afterAll(async () => {
    await gw?.close();
    await provider.stop();
  });

  it("runs the model on the catalog's metadata: its instructions reach the provider, and codex warns of no unknown model", async () => {
    const thread = await fetch(`${gw.url}/api/thread/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const threadId = ((await thread.json()) as { thread: { id: string } }).thread.id;
    const res = await postSse(gw.url, '/api/turn/start', { threadId, input: [{ type: 'text', text: 'hello' }] });
    expect(res.status).toBe(200);
    expect(res.events.map((e) => e.event)).not.toContain('warning');
    expect(res.events.at(-1)?.event).toBe('turn.completed');
    const sent = provider.requests.at(-1)!.body;
    expect(sent.model).toBe('house-coder');
    // codex 0.171.0 sends a model's base instructions as the first developer message of the input.
    expect(JSON.stringify((sent.input as unknown[])[0])).toContain('You are House Coder, of the catalog.');
    const stderr = gw.app.get(AppServerTransport).stderrOf('default');
    expect(stderr.filter((line) => /Unknown model|metadata not found/i.test(line))).toEqual([]);
  });
});
