import { type ClientHttp2Session, type ClientHttp2Stream, connect, type IncomingHttpHeaders } from 'node:http2';
import { encodeFrame, FrameDecoder } from '../../apps/gateway/src/agent-stream/frame-codec';
import { NDJSON, type Framing } from '../../apps/gateway/src/agent-stream/agent-frames';

export type Frame = Record<string, any>;

/** One `/agent/stream` stream read with node:http2: frames as they arrive, and waits on them (bounded). */
export class AgentStreamClient {
  readonly frames: Frame[] = [];
  headers: IncomingHttpHeaders | null = null;
  raw = Buffer.alloc(0);
  ended = false;
  private readonly decoder: FrameDecoder;
  private readonly waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  constructor(
    readonly stream: ClientHttp2Stream,
    readonly framing: Framing,
  ) {
    this.decoder = new FrameDecoder(framing, 16 * 1024 * 1024);
    stream.on('response', (h) => {
      this.headers = h;
      this.wake();
    });
    stream.on('data', (chunk: Buffer) => {
      this.raw = Buffer.concat([this.raw, chunk]);
      const status = Number(this.headers?.[':status'] ?? 200);
      if (status !== 200) return;
      for (const d of this.decoder.push(chunk)) if (d.ok) this.frames.push(d.value as Frame);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      stream.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      });
    });
    stream.on('error', () => undefined);
  }

  send(frame: object): void {
    this.stream.write(encodeFrame(this.framing, frame));
  }

  sendRaw(bytes: Buffer | string): void {
    this.stream.write(bytes);
  }

  end(): void {
    this.stream.end();
  }

  /** The first frame (after `from`) matching `match`; rejects after `ms` or when the stream closes first. */
  async next(match: (f: Frame) => boolean, ms = 20_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (this.ended)
        throw new Error(`stream closed without the frame; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`frame not received in ${ms} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async response(): Promise<IncomingHttpHeaders> {
    const deadline = Date.now() + 20_000;
    while (!this.headers) {
      if (this.ended || Date.now() > deadline) throw new Error('no response headers');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.headers;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

export function connectH2(url: string, options: { ca?: Buffer } = {}): ClientHttp2Session {
  const session = connect(url, options.ca ? { ca: options.ca } : {});
  session.on('error', () => undefined);
  return session;
}

export function openAgentStream(
  session: ClientHttp2Session,
  options: { framing?: Framing; headers?: Record<string, string>; path?: string; method?: string } = {},
): AgentStreamClient {
  const framing = options.framing ?? NDJSON;
  const stream = session.request({
    ':method': options.method ?? 'POST',
    ':path': options.path ?? '/agent/stream',
    'content-type': framing,
    ...options.headers,
  });
  return new AgentStreamClient(stream, framing);
}
