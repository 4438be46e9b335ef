import { GatewayError } from '../../common/errors/gateway-error';
import { parseClientTools } from './client-tools';

const parameters = { type: 'object', properties: { q: { type: 'string' } } };

describe('client tools', () => {
  it('reads Chat Completions (nested) and Responses (flat) function tools and tool_choice', () => {
    expect(
      parseClientTools(
        { tools: [{ type: 'function', function: { name: 'find', description: 'd', parameters } }] },
        'chat',
      ),
    ).toEqual({ tools: [{ name: 'find', description: 'd', inputSchema: parameters }], choice: 'auto' });
    expect(
      parseClientTools(
        { tools: [{ type: 'function', name: 'find', parameters }], tool_choice: { type: 'function', name: 'find' } },
        'responses',
      ),
    ).toEqual({ tools: [{ name: 'find', description: '', inputSchema: parameters }], choice: { name: 'find' } });
    expect(
      parseClientTools({ tools: [{ type: 'function', name: 'f' }], tool_choice: 'none' }, 'responses')?.choice,
    ).toBe('none');
    expect(parseClientTools({}, 'chat')).toBeNull();
    expect(parseClientTools({ tools: [] }, 'chat')).toBeNull();
  });

  it('refuses, never drops, what codex cannot offer', () => {
    const refused = (body: Record<string, unknown>, shape: 'chat' | 'responses' = 'responses') => {
      try {
        parseClientTools(body, shape);
      } catch (error) {
        return `${(error as GatewayError).options.param}: ${(error as GatewayError).message}`;
      }
      return null;
    };
    const fn = { type: 'function', name: 'f' };
    expect(refused({ tools: [fn], parallel_tool_calls: false })).toMatch(/^parallel_tool_calls: /);
    expect(refused({ tools: [{ type: 'web_search' }] })).toMatch(
      /^tools: tools\[0\]\.type "web_search" is not supported/,
    );
    expect(refused({ tools: [{ type: 'function', name: 'bad name' }] })).toMatch(/needs a name/);
    expect(refused({ tools: [fn, fn] })).toMatch(/two functions named f/);
    expect(refused({ tools: [{ type: 'function', name: 'apply_patch' }] })).toMatch(/codex's own tools/);
    expect(refused({ tools: [fn], tool_choice: { type: 'function', name: 'g' } })).toMatch(
      /^tool_choice: .*not among tools/,
    );
    expect(refused({ tools: [fn], tool_choice: 'sometimes' })).toMatch(/^tool_choice: /);
    expect(refused({ tool_choice: 'required' })).toMatch(/tool_choice needs tools/);
    expect(refused({ tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] }, 'chat')).toMatch(
      /JSON schema object/,
    );
  });
});
