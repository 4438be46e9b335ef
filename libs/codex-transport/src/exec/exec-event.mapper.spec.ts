import { ExecEventMapper } from './exec-event.mapper';

describe('ExecEventMapper', () => {
  it('maps an exec --json run to the normalized sequence', () => {
    const m = new ExecEventMapper('exec_1', 'Say hello');
    const lines = [
      { type: 'thread.started', thread_id: 'th-1' },
      { type: 'item.completed', item: { id: 'item_0', type: 'error', message: 'Model metadata for `x` not found.' } },
      { type: 'turn.started' },
      {
        type: 'item.started',
        item: {
          id: 'item_2',
          type: 'command_execution',
          command: 'ls',
          aggregated_output: '',
          exit_code: null,
          status: 'in_progress',
        },
      },
      {
        type: 'item.completed',
        item: {
          id: 'item_2',
          type: 'command_execution',
          command: 'ls',
          aggregated_output: 'a\n',
          exit_code: 0,
          status: 'completed',
        },
      },
      { type: 'item.completed', item: { id: 'item_3', type: 'agent_message', text: 'Hello' } },
      {
        type: 'turn.completed',
        usage: { input_tokens: 42, cached_input_tokens: 2, output_tokens: 7, reasoning_output_tokens: 1 },
      },
    ];
    const events = lines.flatMap((l) => m.map(l));
    expect(
      events.map((e) => (e.type.startsWith('item.') && 'item' in e ? `${e.type}:${e.item.type}` : e.type)),
    ).toEqual([
      'thread.started',
      'warning',
      'turn.started',
      'item.started:userMessage',
      'item.completed:userMessage',
      'item.started:commandExecution',
      'item.delta',
      'item.completed:commandExecution',
      'item.started:agentMessage',
      'item.delta',
      'item.completed:agentMessage',
      'usage',
      'turn.completed',
    ]);
    expect(events.find((e) => e.type === 'item.completed' && e.item.type === 'commandExecution')).toMatchObject({
      item: { output: 'a\n', exitCode: 0, status: 'completed' },
    });
    expect(events.find((e) => e.type === 'usage')).toMatchObject({
      usage: { inputTokens: 42, cachedInputTokens: 2, outputTokens: 7, reasoningOutputTokens: 1, totalTokens: 49 },
    });
    expect(events.every((e) => !('threadId' in e) || e.threadId === 'th-1')).toBe(true);
    expect(m.finished).toBe(true);
  });

  it('maps a failed turn and retry errors', () => {
    const m = new ExecEventMapper('exec_2', 'x');
    m.map({ type: 'thread.started', thread_id: 'th' });
    const retry = m.map({ type: 'error', message: 'Reconnecting... 1/5 (stream closed)' });
    const failed = m.map({ type: 'turn.failed', error: { message: 'unexpected status 503' } });
    expect(retry).toEqual([expect.objectContaining({ type: 'error', willRetry: true })]);
    expect(failed).toEqual([
      expect.objectContaining({
        type: 'turn.completed',
        status: 'failed',
        error: { code: 'PROVIDER_ERROR', message: 'unexpected status 503' },
      }),
    ]);
    // What the provider refused as the request's own fault is told apart.
    const refused = new ExecEventMapper('exec_3', 'x').map({
      type: 'turn.failed',
      error: { message: 'unexpected status 400' },
    });
    expect(refused).toEqual([
      expect.objectContaining({ error: { code: 'PROVIDER_REJECTED', message: 'unexpected status 400' } }),
    ]);
  });
});
