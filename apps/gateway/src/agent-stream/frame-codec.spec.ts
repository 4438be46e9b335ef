import { LENGTH_PREFIXED, NDJSON } from './agent-frames';
import { codexDecision, codexPolicy, commandWords, parseClientFrame } from './client-frames';
import { encodeFrame, FrameDecoder, framingOf, FramingError } from './frame-codec';

describe('agent stream frame codec', () => {
  it('chooses the framing from Content-Type (NDJSON by default)', () => {
    expect(framingOf(undefined)).toBe(NDJSON);
    expect(framingOf('application/x-ndjson; charset=utf-8')).toBe(NDJSON);
    expect(framingOf('application/length-prefixed-json')).toBe(LENGTH_PREFIXED);
    expect(framingOf('text/plain')).toBeNull();
  });

  it('decodes NDJSON split anywhere, tolerating CRLF and blank lines, and a last line without newline', () => {
    const d = new FrameDecoder(NDJSON);
    const bytes = Buffer.from('{"a":1}\r\n\n{"b":"é"}\n{"c":3}');
    const out = [];
    for (let i = 0; i < bytes.length; i += 3) out.push(...d.push(bytes.subarray(i, i + 3)));
    out.push(...d.end());
    expect(out).toEqual([
      { ok: true, value: { a: 1 } },
      { ok: true, value: { b: 'é' } },
      { ok: true, value: { c: 3 } },
    ]);
  });

  it('decodes length-prefixed frames split anywhere and round-trips the encoder', () => {
    const d = new FrameDecoder(LENGTH_PREFIXED);
    const bytes = Buffer.concat([
      encodeFrame(LENGTH_PREFIXED, { x: 'ü' }),
      encodeFrame(LENGTH_PREFIXED, { y: [1, 2] }),
    ]);
    const out = [];
    for (const byte of bytes) out.push(...d.push(Buffer.from([byte])));
    expect(out.map((o) => (o.ok ? o.value : null))).toEqual([{ x: 'ü' }, { y: [1, 2] }]);
    expect(d.end()).toEqual([]);
  });

  it('reports bad JSON per frame but breaks the stream for oversized frames and broken prefixes', () => {
    expect(new FrameDecoder(NDJSON).push(Buffer.from('nope\n'))[0]).toMatchObject({ ok: false });
    expect(() => new FrameDecoder(NDJSON, 10).push(Buffer.from('x'.repeat(11)))).toThrow(FramingError);
    const zero = Buffer.alloc(4);
    expect(() => new FrameDecoder(LENGTH_PREFIXED).push(zero)).toThrow(/length prefix of 0/);
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(2 ** 31, 0);
    expect(() => new FrameDecoder(LENGTH_PREFIXED).push(huge)).toThrow(/over the/);
    const partial = new FrameDecoder(LENGTH_PREFIXED);
    partial.push(Buffer.from([0, 0, 0, 9, 1]));
    expect(() => partial.end()).toThrow(/ended inside a frame/);
  });
});

describe('agent stream client frames', () => {
  it('accepts the documented frames and maps the original project words to codex', () => {
    expect(
      parseClientFrame({
        type: 'user_message',
        id: 7,
        content: 'hi',
        configOverrides: { approvalPolicy: 'auto-edit' },
      }),
    ).toEqual({
      type: 'user_message',
      id: '7',
      content: 'hi',
      configOverrides: { approvalPolicy: 'auto-edit' },
    });
    expect(codexPolicy({ approvalPolicy: 'suggest' })).toEqual({ approvalPolicy: 'untrusted', sandbox: undefined });
    expect(codexPolicy({ approvalPolicy: 'auto-edit' })).toEqual({
      approvalPolicy: 'on-request',
      sandbox: 'workspace-write',
    });
    expect(codexPolicy({ approvalPolicy: 'full-auto', sandbox: 'read-only' })).toEqual({
      approvalPolicy: 'never',
      sandbox: 'read-only',
    });
    expect([codexDecision('allow'), codexDecision('deny'), codexDecision('acceptForSession')]).toEqual([
      'accept',
      'decline',
      'acceptForSession',
    ]);
  });

  it('refuses unknown types and bad fields with a code', () => {
    expect(() => parseClientFrame({ type: 'dance' })).toThrow(expect.objectContaining({ code: 'unknown_frame' }));
    expect(() => parseClientFrame([1])).toThrow(expect.objectContaining({ code: 'invalid_frame' }));
    expect(() => parseClientFrame({ type: 'cancel' })).toThrow(/sessionId/);
    expect(() => parseClientFrame({ type: 'approve', sessionId: 's', commandId: 'c', decision: 'maybe' })).toThrow(
      /decision/,
    );
    expect(() => parseClientFrame({ type: 'user_message', content: '  ' })).toThrow(/content/);
    // A field a frame does not define is refused, not dropped.
    expect(() => parseClientFrame({ type: 'user_message', content: 'x', configOverrides: { modle: 'm' } })).toThrow(
      /configOverrides\.modle is not a field/,
    );
    expect(() => parseClientFrame({ type: 'ping', timestamp: 1 })).toThrow(/timestamp is not a field of a ping frame/);
  });

  it('splits command lines into words like a shell', () => {
    expect(commandWords(`/bin/bash -lc 'echo "a b" && ls'`)).toEqual(['/bin/bash', '-lc', 'echo "a b" && ls']);
    expect(commandWords('printf "x\\"y" z\\ w ""')).toEqual(['printf', 'x"y', 'z w', '']);
  });
});
