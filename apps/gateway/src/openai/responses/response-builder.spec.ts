import type { CodexEvent } from '@app/codex-transport';
import { ResponseBuilder } from './response-builder';
import { outcomeOf, type ResponseObject } from './response-object';

const T = { threadId: 'th', turnId: 'tu' };

function blank(): ResponseObject {
  return {
    id: 'resp_1',
    object: 'response',
    created_at: 1,
    completed_at: null,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    model: 'm',
    output: [],
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    usage: null,
    metadata: {},
  };
}

function run(builder: ResponseBuilder, events: CodexEvent[]) {
  return events.flatMap((e) => builder.map(e));
}

describe('ResponseBuilder', () => {
  it('numbers events from 0 and builds message output from deltas, trusting the final text', () => {
    const b = new ResponseBuilder(blank());
    const events = [
      ...b.start(),
      ...run(b, [
        { type: 'item.started', item: { type: 'userMessage', id: 'u', text: 'hi', content: [] }, ...T },
        { type: 'item.started', item: { type: 'agentMessage', id: 'msg_a', text: '' }, ...T },
        { type: 'item.delta', itemId: 'msg_a', kind: 'text', delta: 'Hel', ...T },
        { type: 'item.completed', item: { type: 'agentMessage', id: 'msg_a', text: 'Hello' }, ...T },
        { type: 'item.delta', itemId: 'msg_a', kind: 'text', delta: 'late', ...T },
        {
          type: 'usage',
          usage: { inputTokens: 10, cachedInputTokens: 2, outputTokens: 3, reasoningOutputTokens: 1, totalTokens: 13 },
          ...T,
        },
      ]),
      ...b.finish({ status: 'completed' }),
    ];
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta)).toEqual(['Hel', 'lo']);
    const final = events.at(-1)!.response as ResponseObject;
    expect(final.output).toEqual([
      {
        id: 'msg_a',
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Hello', annotations: [], logprobs: [] }],
      },
    ]);
    expect(final.usage).toEqual({
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 2 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 1 },
      total_tokens: 13,
    });
    // Snapshots in earlier events are not changed by later ones.
    expect((events[0].response as ResponseObject).output).toEqual([]);
  });

  it('closes items left open as incomplete when the response is cancelled', () => {
    const b = new ResponseBuilder(blank());
    b.start();
    run(b, [{ type: 'item.delta', itemId: 'x', kind: 'text', delta: 'part', ...T }]);
    const end = b.finish({ status: 'cancelled' });
    expect(end.map((e) => e.type)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.cancelled',
    ]);
    expect(b.response).toMatchObject({
      status: 'cancelled',
      output: [{ status: 'incomplete', content: [{ text: 'part' }] }],
    });
  });

  it('reports commands as codex_command_execution items and a declined one as failed', () => {
    const b = new ResponseBuilder(blank());
    const command = {
      type: 'commandExecution' as const,
      id: 'call-1',
      command: 'rm x',
      cwd: '/w',
      output: '',
      exitCode: null,
      durationMs: null,
    };
    const events = run(b, [
      { type: 'item.started', item: { ...command, status: 'inProgress' }, ...T },
      { type: 'item.delta', itemId: 'call-1', kind: 'output', delta: 'ignored', ...T },
      { type: 'item.completed', item: { ...command, status: 'declined' }, ...T },
    ]);
    expect(events.map((e) => e.type)).toEqual(['response.output_item.added', 'response.output_item.done']);
    expect(events[1].item).toMatchObject({
      id: 'cmd_call1',
      type: 'codex_command_execution',
      status: 'failed',
      declined: true,
      command: 'rm x',
    });
  });

  it('maps turn endings to Responses outcomes', () => {
    const done = (status: 'completed' | 'interrupted' | 'failed', code?: string) =>
      ({ type: 'turn.completed', status, error: code ? { code, message: 'm' } : null, ...T }) as Extract<
        CodexEvent,
        { type: 'turn.completed' }
      >;
    expect(outcomeOf(done('completed'), false)).toEqual({ status: 'completed' });
    expect(outcomeOf(done('interrupted'), false)).toEqual({ status: 'cancelled' });
    expect(outcomeOf(done('failed', 'TURN_TIMEOUT'), false)).toEqual({
      status: 'incomplete',
      incompleteReason: 'timeout',
    });
    expect(outcomeOf(done('failed', 'PROVIDER_ERROR'), false)).toEqual({
      status: 'failed',
      error: { code: 'server_error', message: 'm' },
    });
  });
});
