import { GatewayError } from '../common/errors/gateway-error';
import type { CodexEvent } from '@app/codex-transport';
import { ChatChunkMapper, toChatCompletion } from './chat-completions.mapper';
import { newPromptMessages, renderPrompt } from '../common/turn/prompt';
import { parseChatMessages } from './input/chat-messages.pipe';

/** Chat messages as the route reads them: parsed, then rendered into one turn. */
const renderMessages = (messages: unknown[]) => renderPrompt(parseChatMessages(messages).messages, 'messages');

const scope = { threadId: 't', turnId: 'u' };
const ctx = { id: 'chatcmpl-1', created: 1, model: 'fast', includeUsage: true, codexEvents: false };
const usage = { inputTokens: 10, cachedInputTokens: 2, outputTokens: 5, reasoningOutputTokens: 1, totalTokens: 15 };

const turn: CodexEvent[] = [
  { type: 'turn.started', ...scope },
  { type: 'item.delta', ...scope, itemId: 'r', kind: 'reasoning', delta: 'thinking' },
  { type: 'item.delta', ...scope, itemId: 'm1', kind: 'text', delta: 'Let me look.' },
  {
    type: 'item.completed',
    ...scope,
    item: {
      type: 'commandExecution',
      id: 'c',
      command: 'ls',
      cwd: null,
      status: 'completed',
      output: 'a',
      exitCode: 0,
      durationMs: 1,
    },
  },
  { type: 'item.delta', ...scope, itemId: 'm2', kind: 'text', delta: 'Done' },
  { type: 'item.completed', ...scope, item: { type: 'agentMessage', id: 'm1', text: 'Let me look.' } },
  { type: 'item.completed', ...scope, item: { type: 'agentMessage', id: 'm2', text: 'Done' } },
  { type: 'usage', ...scope, usage },
  { type: 'turn.completed', ...scope, status: 'completed', error: null },
];

describe('ChatChunkMapper', () => {
  it('emits role first, content deltas (messages separated), finish, then usage', () => {
    const m = new ChatChunkMapper(ctx);
    const chunks = turn.flatMap((e) => m.map(e)) as Array<Record<string, any>>;
    expect(chunks.map((c) => c.choices[0]?.delta ?? 'usage')).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Let me look.' },
      { content: '\n\nDone' },
      {},
      'usage',
    ]);
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(chunks[4]).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 2 } },
    });
    expect(new Set(chunks.map((c) => c.id))).toEqual(new Set(['chatcmpl-1']));
  });

  it('adds reasoning_content and codex_event only when asked', () => {
    const m = new ChatChunkMapper({ ...ctx, includeUsage: false, codexEvents: true });
    const chunks = turn.flatMap((e) => m.map(e)) as Array<Record<string, any>>;
    expect(chunks[1].choices[0].delta).toEqual({ reasoning_content: 'thinking' });
    expect(chunks.find((c) => c.codex_event)?.codex_event.item).toMatchObject({
      type: 'commandExecution',
      command: 'ls',
    });
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
  });

  it('turns a failed turn into an error with its code', () => {
    const m = new ChatChunkMapper(ctx);
    expect(() =>
      m.map({
        type: 'turn.completed',
        ...scope,
        status: 'failed',
        error: { code: 'TURN_TIMEOUT', message: 'too slow' },
      }),
    ).toThrow(expect.objectContaining({ code: 'TURN_TIMEOUT', message: 'too slow' }));
  });

  it('folds a turn into a chat.completion', () => {
    const completion = toChatCompletion({ ...ctx, codexEvents: true }, turn, 't') as Record<string, any>;
    expect(completion.choices[0].message).toEqual({
      role: 'assistant',
      content: 'Let me look.\n\nDone',
      refusal: null,
    });
    expect(completion.codex).toEqual({
      thread_id: 't',
      items: [expect.objectContaining({ type: 'commandExecution' })],
    });
    expect(completion.usage.total_tokens).toBe(15);
  });
});

describe('Chat messages → one turn', () => {
  it('puts system text in instructions, history in the prompt, and the last user message last', () => {
    const r = renderMessages([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'two' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'three' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } },
        ],
      },
    ]);
    expect(r.instructions).toBe('Be brief.');
    expect(r.prompt).toBe('Earlier in this conversation:\n\nuser: one\n\nassistant: two\n\n---\n\nthree');
    expect(r.images).toEqual(['data:image/png;base64,AA==']);
  });

  it('refuses a conversation that does not end with the user, or bad parts', () => {
    expect(() => renderMessages([{ role: 'assistant', content: 'hi' }])).toThrow(GatewayError);
    expect(() =>
      renderMessages([
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ]),
    ).toThrow(/last message/);
    expect(() => renderMessages([{ role: 'user', content: [{ type: 'audio' }] }])).toThrow(/text or image_url/);
  });

  it('keeps only the messages after the last assistant reply for a continued session', () => {
    expect(
      newPromptMessages(
        parseChatMessages([
          { role: 'system', content: 's' },
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          { role: 'user', content: 'c' },
        ]).messages,
      ),
    ).toEqual([{ role: 'user', text: 'c', images: [] }]);
  });
});
