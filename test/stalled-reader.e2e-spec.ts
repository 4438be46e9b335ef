import { connect as netConnect, type Socket } from 'node:net';
import OpenAI from 'openai';
import { AppServerTransport } from '@app/codex-transport';
import { AgentStreamServer } from '../apps/gateway/src/agent-stream/agent-stream.server';
import { OfflineProviderHost } from '../apps/gateway/src/codex/offline-provider.host';
import { startGateway, type TestGateway } from './support/gateway';
import { connectH2, openAgentStream } from './support/h2';
import { retainedMb, until } from './support/harness';
import { MetricsService } from '../apps/gateway/src/metrics/metrics.service';

const TOKENS = { alice: 'alice-token-0123456789', bob: 'bob-token-0123456789' };
const LIMIT_MB = 2;
/** A reply of about 20 MB in 2000 deltas of about 10 kB. */
const HUGE = '[[words: 3200000]] [[deltas: 2000]] big';

/**
 * A client that stops reading while its turn streams a large answer costs the gateway at most the stream
 * buffer limit (CODEX_STREAM_BUFFER_MB): past it the stream is ended like one whose client left, which
 * interrupts the turn; another tenant's turns go on meanwhile.
 */
describe('a stalled reader costs a bounded amount', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway('stalled', {
      CODEX_GATEWAY_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`,
      CODEX_STREAM_BUFFER_MB: String(LIMIT_MB),
    });
  });

  afterAll(async () => {
    await gw?.close();
  });

  const running = () => gw.app.get(AppServerTransport).stats().runningTurns;
  const provider = () => gw.app.get(OfflineProviderHost).instance!;

  /** Turns that ended because their client left (or stopped reading), by protocol. */
  async function abandoned(protocol: string): Promise<number> {
    const metric = (await gw.app.get(MetricsService).registry.getSingleMetric('codex_gateway_turns_total')!.get())
      .values;
    return metric.find((v) => v.labels.protocol === protocol && v.labels.status === 'abandoned')?.value ?? 0;
  }

  /** bob's turn, while alice's stream is stalled: it completes as usual. */
  async function bobIsServed(): Promise<void> {
    const client = new OpenAI({ apiKey: TOKENS.bob, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: 'x',
      messages: [{ role: 'user', content: '[[reply: bob is fine]]' }],
    });
    expect(answer.choices[0].message.content).toBe('bob is fine');
  }

  it('SSE (Chat Completions): the stream is ended and the turn interrupted; what it holds stays under the limit plus a margin', async () => {
    const before = await retainedMb();
    const socket: Socket = netConnect(Number(new URL(gw.url).port), '127.0.0.1');
    const body = JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'user', content: HUGE }] });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.alice}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // Read the response head, then nothing more.
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause();
    await until(() => running() === 1, 'the turn runs');
    await bobIsServed();
    await until(
      () => running() === 0 && provider().openStreams === 0,
      'the turn is over and codex let go of the model',
    );
    // Measured while the stalled client is still connected: what the gateway keeps for it.
    const held = (await retainedMb()) - before;
    expect(await abandoned('openai_chat')).toBe(1);
    expect(held).toBeLessThan(LIMIT_MB + 12);
    socket.destroy();
  }, 120_000);

  it('HTTP/2: the stream is reset and the turn interrupted', async () => {
    const h2 = connectH2(gw.app.get(AgentStreamServer).url);
    try {
      const stream = openAgentStream(h2, { headers: { authorization: `Bearer ${TOKENS.alice}` } });
      stream.send({ type: 'user_message', content: HUGE });
      await stream.next((f) => f.type === 'item' && f.phase === 'delta');
      stream.stream.pause();
      await until(() => running() === 1, 'the turn runs');
      await bobIsServed();
      await until(
        () => running() === 0 && provider().openStreams === 0,
        'the turn is over and codex let go of the model',
      );
      expect(await abandoned('agent_stream')).toBe(1);
      await stream.closed;
      expect(stream.stream.rstCode).toBe(8); // NGHTTP2_CANCEL
    } finally {
      h2.close();
    }
  }, 120_000);
});
