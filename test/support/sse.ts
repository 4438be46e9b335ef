import { type ClientRequest, request } from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
  json: any;
}

export interface SseResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  events: SseEvent[];
}

/** Parses raw SSE text into events (comments skipped). */
export function parseSse(raw: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of raw.split('\n\n')) {
    if (!block.trim()) continue;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length === 0) continue;
    const text = data.join('\n');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    events.push({ event, data: text, json });
  }
  return events;
}

/**
 * POSTs JSON and reads the response body raw as it arrives. `until` may end the request early (the
 * client disconnects) once the events so far satisfy it.
 */
export function postSse(
  baseUrl: string,
  path: string,
  body: unknown,
  options: {
    headers?: Record<string, string>;
    until?: (events: SseEvent[]) => boolean;
    /** Disconnects when this settles, whatever has arrived. */
    abortWhen?: Promise<unknown>;
    method?: string;
  } = {},
): Promise<SseResult & { aborted: boolean }> {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    let raw = '';
    let aborted = false;
    const req: ClientRequest = request(
      url,
      {
        method: options.method ?? 'POST',
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          accept: 'text/event-stream',
          ...options.headers,
        },
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          raw += chunk;
          if (options.until && !aborted && options.until(parseSse(raw))) {
            aborted = true;
            req.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, events: parseSse(raw), aborted });
          }
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, events: parseSse(raw), aborted }),
        );
        res.on('error', (err) => (aborted ? undefined : reject(err)));
      },
    );
    req.on('error', (err) => (aborted ? undefined : reject(err)));
    void options.abortWhen?.then(() => {
      if (aborted) return;
      aborted = true;
      req.destroy();
      resolve({ status: 0, headers: {}, raw, events: parseSse(raw), aborted });
    });
    if (payload) req.write(payload);
    req.end();
  });
}
