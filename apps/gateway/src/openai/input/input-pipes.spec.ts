import { describeFailure } from '../../common/errors/failure';
import { ChatMessagesPipe } from './chat-messages.pipe';
import { metadataProblem } from './metadata.validator';
import { promptMessages, ResponseInputPipe } from './response-input.pipe';

/** The failure a pipe throws for `value`, as every wire describes it. */
function refusal(transform: () => unknown) {
  try {
    transform();
  } catch (error) {
    return describeFailure(error);
  }
  throw new Error('not refused');
}

describe('OpenAI input pipes', () => {
  it('Responses input: a string is one user message; items keep their parts; prompt messages join the text', () => {
    const pipe = new ResponseInputPipe();
    expect(pipe.transform('hi')).toMatchObject([{ type: 'message', role: 'user', content: [{ text: 'hi' }] }]);
    const items = pipe.transform([
      { role: 'assistant', content: 'earlier' },
      {
        role: 'user',
        content: [
          { type: 'input_text', text: 'a' },
          { type: 'input_image', image_url: 'data:image/png;base64,AA==' },
          { type: 'input_text', text: 'b' },
        ],
      },
    ]);
    expect(items[0]).toMatchObject({ content: [{ type: 'output_text', text: 'earlier' }] });
    expect(promptMessages(items)).toEqual([
      { role: 'assistant', text: 'earlier', images: [] },
      { role: 'user', text: 'a\nb', images: ['data:image/png;base64,AA=='] },
    ]);
  });

  it('refusals name the field', () => {
    const responses = new ResponseInputPipe();
    for (const bad of ['', [], [{ role: 'wizard', content: 'x' }], [{ type: 'function_call_output' }]]) {
      expect(refusal(() => responses.transform(bad))).toMatchObject({ status: 400, param: 'input' });
    }
    const chat = new ChatMessagesPipe();
    expect(refusal(() => chat.transform([{ role: 'user', content: [{ type: 'audio' }] }]))).toMatchObject({
      status: 400,
      param: 'messages',
      message: 'messages[0].content[0] must be a text or image_url part',
    });
  });

  it('Chat messages: parts become text and images; the size counts the content as sent', () => {
    const parsed = new ChatMessagesPipe().transform([
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'x' },
          { type: 'image_url', image_url: { url: 'data:,' } },
        ],
      },
    ]);
    expect(parsed.messages).toEqual([
      { role: 'system', text: 'Be brief.', images: [] },
      { role: 'user', text: 'x', images: ['data:,'] },
    ]);
    expect(parsed.chars).toBe(
      JSON.stringify('Be brief.').length +
        JSON.stringify([
          { type: 'text', text: 'x' },
          { type: 'image_url', image_url: { url: 'data:,' } },
        ]).length,
    );
  });

  it('metadata: at most 16 string pairs, keys up to 64 characters, values up to 512', () => {
    expect(metadataProblem({ a: 'b' })).toBeNull();
    expect(metadataProblem(undefined)).toBeNull();
    expect(metadataProblem({ a: 1 })).toMatch(/metadata\.a must be a string/);
    expect(metadataProblem(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])))).toMatch(/16/);
    expect(metadataProblem({ ['k'.repeat(65)]: 'v' })).toMatch(/64/);
    expect(metadataProblem({ a: 'v'.repeat(513) })).toMatch(/512/);
    expect(metadataProblem(['x'])).toMatch(/object/);
  });
});
