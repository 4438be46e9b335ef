import { parseScript, readStamps, splitText, stampNow, wordsReply } from './script';
import { userPrompts } from './input';

describe('offline provider script', () => {
  it('parses tokens and strips them from the text', () => {
    const s = parseScript('please [[reply: Done, thanks]] now [[delay: 50]] [[deltas: 3]] [[reasoning: plan]]');
    expect(s).toMatchObject({ reply: 'Done, thanks', delayMs: 50, deltas: 3, reasoning: 'plan', text: 'please now' });
  });

  it('knows every documented directive', () => {
    const s = parseScript(
      '[[shell: echo a && ls]] [[status: 503]] [[cut]] [[hang]] [[memory]] [[echo-instructions]] [[words: 4]]',
    );
    expect(s).toMatchObject({
      shell: 'echo a && ls',
      status: 503,
      cut: true,
      hang: true,
      memory: true,
      echoInstructions: true,
      words: 4,
    });
    expect(parseScript('[[slow]]')).toMatchObject({ delayMs: 250, deltas: 20 });
    expect(parseScript('[[stall: 3]]')).toMatchObject({ stall: 3 });
    expect(parseScript('[[stall]]')).toMatchObject({ stall: 1 });
    expect(parseScript('no stall')).toMatchObject({ stall: null });
    expect(parseScript('[[slow: 10]]')).toMatchObject({ delayMs: 10, deltas: 20 });
    expect(parseScript('[[stamp]]')).toMatchObject({ stamp: true });
    expect(parseScript('plain')).toMatchObject({ stamp: false });
  });

  it('writes and reads stamps of the shared clock', () => {
    const before = Date.now();
    const [a, b] = readStamps(`data: {"delta":"${stampNow()}"}\n\ndata: {"delta":"${stampNow()}"} ~t12~`);
    expect(a).toBeGreaterThanOrEqual(before - 1);
    expect(a).toBeLessThanOrEqual(Date.now() + 1);
    expect(b).toBeGreaterThanOrEqual(a);
    expect(readStamps('~t1.5~ ~tx~ none')).toEqual([]);
  });

  it('splits text into exactly the requested number of non-empty parts', () => {
    expect(splitText('alpha reply', 5)).toHaveLength(5);
    expect(splitText('alpha reply', 5).join('')).toBe('alpha reply');
    expect(splitText('ab', 5)).toEqual(['a', 'b']);
    expect(splitText('', 3)).toEqual([]);
    expect(wordsReply(3)).toBe('alpha bravo charlie');
  });

  it('ignores the user messages codex adds itself', () => {
    const msg = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
    expect(
      userPrompts([
        msg('<environment_context>\n  <cwd>/w</cwd>'),
        msg('first'),
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'hi' }] },
        msg('<turn_aborted>\nThe user interrupted'),
        msg('second'),
      ]),
    ).toEqual(['first', 'second']);
  });
});
