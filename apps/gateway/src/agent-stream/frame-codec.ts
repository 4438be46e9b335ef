import { LENGTH_PREFIXED, MAX_FRAME_BYTES, NDJSON, type Framing } from './agent-frames';

/** The framing a request's `Content-Type` asks for (NDJSON when none is given); null when unsupported. */
export function framingOf(contentType: string | undefined): Framing | null {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === '' || type === NDJSON || type === 'application/json') return NDJSON;
  if (type === LENGTH_PREFIXED) return LENGTH_PREFIXED;
  return null;
}

export function encodeFrame(framing: Framing, frame: object): Buffer {
  const json = Buffer.from(JSON.stringify(frame), 'utf8');
  if (framing === NDJSON) return Buffer.concat([json, Buffer.from('\n')]);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(json.length, 0);
  return Buffer.concat([prefix, json]);
}

/** One decoded frame: parsed JSON, or why it could not be parsed (the stream stays usable). */
export type Decoded = { ok: true; value: unknown } | { ok: false; message: string };

/** Thrown when the byte stream itself is broken (a frame over the limit, a bad length prefix). */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

/**
 * Splits a byte stream into frames. NDJSON: one JSON value per `\n`-terminated line (`\r\n` and blank
 * lines tolerated). Length-prefixed: a 4-byte big-endian byte count, then that much UTF-8 JSON. A frame
 * longer than `maxBytes`, a zero length, or bytes left over when the stream ends throw {@link FramingError}.
 */
export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(
    private readonly framing: Framing,
    private readonly maxBytes = MAX_FRAME_BYTES,
  ) {}

  push(chunk: Buffer): Decoded[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    return this.framing === NDJSON ? this.lines() : this.prefixed();
  }

  /** The stream ended: whatever is left must be a complete frame (NDJSON may omit the last newline). */
  end(): Decoded[] {
    if (this.buffer.length === 0) return [];
    if (this.framing === NDJSON) {
      const rest = this.buffer;
      this.buffer = Buffer.alloc(0);
      return rest.toString('utf8').trim() ? [parse(rest)] : [];
    }
    throw new FramingError(`the stream ended inside a frame (${this.buffer.length} bytes left over)`);
  }

  private lines(): Decoded[] {
    const out: Decoded[] = [];
    let newline = this.buffer.indexOf(0x0a);
    while (newline !== -1) {
      const line = this.buffer.subarray(0, newline);
      this.buffer = this.buffer.subarray(newline + 1);
      if (line.length > this.maxBytes) throw new FramingError(`a frame is longer than ${this.maxBytes} bytes`);
      if (line.toString('utf8').trim()) out.push(parse(line));
      newline = this.buffer.indexOf(0x0a);
    }
    if (this.buffer.length > this.maxBytes) throw new FramingError(`a frame is longer than ${this.maxBytes} bytes`);
    return out;
  }

  private prefixed(): Decoded[] {
    const out: Decoded[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length === 0) throw new FramingError('a length prefix of 0');
      if (length > this.maxBytes)
        throw new FramingError(`a length prefix of ${length} bytes (over the ${this.maxBytes} byte limit)`);
      if (this.buffer.length < 4 + length) break;
      out.push(parse(this.buffer.subarray(4, 4 + length)));
      this.buffer = this.buffer.subarray(4 + length);
    }
    return out;
  }
}

function parse(bytes: Buffer): Decoded {
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch (error) {
    return { ok: false, message: `invalid JSON: ${(error as Error).message}` };
  }
}
