import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { NEVER, Observable, Subject } from 'rxjs';
import { type SseMessage, writeSse } from './sse-writer';

/** Serves one SSE route backed by whatever observable the test provides. */
async function serve(source: () => Observable<SseMessage>, options: Parameters<typeof writeSse>[2] = {}) {
  const app = express();
  const outcomes: Array<'done' | Error> = [];
  /** The chunks given to `res.write`, in order. */
  const writes: string[] = [];
  app.get('/s', (_req, res) => {
    const write = res.write.bind(res) as (chunk: string) => boolean;
    res.write = ((chunk: string) => (writes.push(String(chunk)), write(chunk))) as typeof res.write;
    writeSse(res, source(), options).then(
      () => outcomes.push('done'),
      (error: Error) => {
        outcomes.push(error);
        res.status(418).json({ message: error.message });
      },
    );
  });
  const server: Server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/s`;
  return { server, url, outcomes, writes };
}

function read(url: string, stopWhen?: (raw: string) => boolean): Promise<{ status: number; raw: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        raw += c;
        if (stopWhen?.(raw)) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, raw });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, raw }));
    });
    req.on('error', (e) => (stopWhen ? undefined : reject(e)));
    req.end();
  });
}

describe('writeSse', () => {
  const servers: Server[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.close()));

  it('frames events, JSON-encodes data, and ends with the terminator', async () => {
    const s = await serve(
      () =>
        new Observable<SseMessage>((sub) => {
          sub.next({ event: 'a', data: { x: 1 } });
          sub.next({ data: 'line1\nline2' });
          sub.complete();
        }),
      { terminator: 'data: [DONE]\n\n' },
    );
    servers.push(s.server);
    const { status, raw } = await read(s.url);
    expect(status).toBe(200);
    expect(raw).toBe('event: a\ndata: {"x":1}\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n');
    expect(s.outcomes).toEqual(['done']);
  });

  it('sends the events of one tick in one write, and later events in the next', async () => {
    const s = await serve(
      () =>
        new Observable<SseMessage>((sub) => {
          sub.next({ event: 'a', data: 1 });
          sub.next({ event: 'b', data: 2 });
          setTimeout(() => {
            sub.next({ event: 'c', data: 3 });
            sub.complete();
          }, 20);
        }),
    );
    servers.push(s.server);
    const { raw } = await read(s.url);
    expect(raw).toBe('event: a\ndata: 1\n\nevent: b\ndata: 2\n\nevent: c\ndata: 3\n\n');
    expect(s.writes).toEqual(['event: a\ndata: 1\n\nevent: b\ndata: 2\n\n', 'event: c\ndata: 3\n\n']);
  });

  it('sends keepalive comments during silence', async () => {
    const s = await serve(() => NEVER, { keepaliveMs: 20 });
    servers.push(s.server);
    const { raw } = await read(s.url, (r) => r.split(': keepalive\n\n').length >= 3);
    expect(raw.startsWith(': keepalive\n\n: keepalive\n\n')).toBe(true);
  });

  it('rejects (so a real status can be sent) when the source fails before the first event', async () => {
    const s = await serve(
      () =>
        new Observable<SseMessage>((sub) => {
          setTimeout(() => sub.error(new Error('nope')), 5);
        }),
    );
    servers.push(s.server);
    const { status, raw } = await read(s.url);
    expect(status).toBe(418);
    expect(JSON.parse(raw)).toEqual({ message: 'nope' });
  });

  it('reports an error after the headers in-band, then ends', async () => {
    const s = await serve(
      () =>
        new Observable<SseMessage>((sub) => {
          sub.next({ event: 'first', data: {} });
          const timer = setTimeout(() => sub.error(new Error('broke')), 5);
          return () => clearTimeout(timer);
        }),
      { errorMessage: (e) => ({ event: 'error', data: { message: (e as Error).message } }) },
    );
    servers.push(s.server);
    const { raw } = await read(s.url);
    expect(raw).toBe('event: first\ndata: {}\n\nevent: error\ndata: {"message":"broke"}\n\n');
  });

  it('sends the status and headers with the first event, in the same socket write', async () => {
    const socketWrites: string[] = [];
    const app = express();
    app.get('/s', (req, res) => {
      const socket = req.socket as unknown as { write: (...a: unknown[]) => boolean };
      const write = socket.write.bind(socket);
      socket.write = (...a: unknown[]) => (socketWrites.push(String(a[0])), write(...a));
      void writeSse(
        res,
        new Observable<SseMessage>(
          (sub) => void setTimeout(() => (sub.next({ event: 'a', data: 1 }), sub.complete()), 20),
        ),
      );
    });
    const server = createServer(app);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { status, raw } = await read(`http://127.0.0.1:${(server.address() as AddressInfo).port}/s`);
    expect(status).toBe(200);
    expect(raw).toBe('event: a\ndata: 1\n\n');
    // The head leaves once, in the write that starts the first chunk (its size line follows it), not alone.
    const heads = socketWrites.filter((w) => w.startsWith('HTTP/1.1 200'));
    expect(heads).toHaveLength(1);
    expect(heads[0]).toMatch(/\r\n\r\n[0-9a-f]+$/);
  });

  it('keeps an error raised in the same tick as the first event in-band (the head is already set)', async () => {
    const s = await serve(
      () =>
        new Observable<SseMessage>((sub) => {
          sub.next({ event: 'first', data: {} });
          sub.error(new Error('broke'));
        }),
      { errorMessage: (e) => ({ event: 'error', data: { message: (e as Error).message } }) },
    );
    servers.push(s.server);
    const { status, raw } = await read(s.url);
    expect(status).toBe(200);
    expect(raw).toBe('event: first\ndata: {}\n\nevent: error\ndata: {"message":"broke"}\n\n');
    expect(s.outcomes).toEqual(['done']);
  });

  it('unsubscribes from the source when the client goes away', async () => {
    let unsubscribed = false;
    const ticks = new Subject<SseMessage>();
    let subscribed!: () => void;
    const serving = new Promise<void>((resolve) => (subscribed = resolve));
    const s = await serve(
      () =>
        new Observable<SseMessage>((sub) => {
          const inner = ticks.subscribe(sub);
          subscribed();
          return () => {
            unsubscribed = true;
            inner.unsubscribe();
          };
        }),
    );
    servers.push(s.server);
    const reading = read(s.url, (raw) => raw.includes('one'));
    // Once the request has reached the writer (a timer could fire before it does on a busy machine).
    await serving;
    ticks.next({ event: 'one', data: {} });
    await reading;
    while (!unsubscribed) await new Promise((r) => setTimeout(r, 5));
    expect(unsubscribed).toBe(true);
    expect(s.outcomes).toEqual(['done']);
  });
});
