/**
 * Splits a byte stream into lines. Survives chunks split anywhere (including inside a multi-byte
 * character), strips a trailing `\r`, and drops a line that grows past `maxLineBytes` instead of
 * buffering without bound.
 */
export class LineFramer {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: (droppedBytes: number) => void = () => undefined,
    private readonly maxLineBytes = 16 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        this.append(chunk.subarray(start));
        return;
      }
      this.append(chunk.subarray(start, newline));
      this.flushLine();
      start = newline + 1;
    }
  }

  /** Emits whatever is buffered as a final line (the stream ended without a newline). */
  end(): void {
    if (this.size > 0 || this.discarding) this.flushLine();
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    if (this.discarding) {
      this.size += part.length;
      return;
    }
    if (this.size + part.length > this.maxLineBytes) {
      this.discarding = true;
      this.parts = [];
      this.size += part.length;
      return;
    }
    this.parts.push(part);
    this.size += part.length;
  }

  private flushLine(): void {
    if (this.discarding) {
      const dropped = this.size;
      this.reset();
      this.onOverflow(dropped);
      return;
    }
    let line = Buffer.concat(this.parts, this.size).toString('utf8');
    this.reset();
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim().length > 0) this.onLine(line);
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }
}
