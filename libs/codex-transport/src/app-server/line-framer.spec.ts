import { LineFramer } from './line-framer';

describe('LineFramer', () => {
  function framer(max?: number) {
    const lines: string[] = [];
    const overflows: number[] = [];
    const f = new LineFramer(
      (l) => lines.push(l),
      (n) => overflows.push(n),
      max,
    );
    return { f, lines, overflows };
  }

  it('joins a line split across chunks', () => {
    const { f, lines } = framer();
    f.push(Buffer.from('{"a":'));
    f.push(Buffer.from('1}\n{"b"'));
    expect(lines).toEqual(['{"a":1}']);
    f.push(Buffer.from(':2}\n'));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('survives a multi-byte character split between chunks', () => {
    const { f, lines } = framer();
    const bytes = Buffer.from('{"t":"héllo ✓"}\n', 'utf8');
    const cut = bytes.indexOf(0xe2) + 1; // inside the 3-byte check mark
    f.push(bytes.subarray(0, cut));
    f.push(bytes.subarray(cut));
    expect(lines).toEqual(['{"t":"héllo ✓"}']);
  });

  it('strips \\r and skips blank lines', () => {
    const { f, lines } = framer();
    f.push(Buffer.from('one\r\n\r\n\ntwo\n'));
    expect(lines).toEqual(['one', 'two']);
  });

  it('drops an over-long line, reports it, and keeps framing the next ones', () => {
    const { f, lines, overflows } = framer(10);
    f.push(Buffer.from('short\n'));
    f.push(Buffer.from('x'.repeat(8)));
    f.push(Buffer.from('y'.repeat(8)));
    f.push(Buffer.from('zz\nok\n'));
    expect(lines).toEqual(['short', 'ok']);
    expect(overflows).toEqual([18]);
  });

  it('emits a last line without a newline at end()', () => {
    const { f, lines } = framer();
    f.push(Buffer.from('tail'));
    expect(lines).toEqual([]);
    f.end();
    expect(lines).toEqual(['tail']);
  });
});
