import { AnswerTagStripper, stripAnswerTags } from './answer-tags';

describe('answer tag stripping', () => {
  it('removes the tags and keeps the content', () => {
    expect(stripAnswerTags('<answer>do(action="Tap")</answer>')).toBe('do(action="Tap")');
    expect(stripAnswerTags('a < b and <ans')).toBe('a < b and <ans');
  });

  it('handles tags split across deltas', () => {
    const s = new AnswerTagStripper();
    const out = ['finish(', 'ok)</an', 'swer', '> done <', '3'].map((d) => s.push(d)).join('') + s.flush();
    expect(out).toBe('finish(ok) done <3');
  });
});
