import type { DynamicTool } from '@app/codex-transport';
import { invalidRequest } from '../../common/errors/gateway-error';

/** Which of the client's functions the model may (or must) call. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** A request's function tools, as codex gets them. */
export interface ClientTools {
  tools: DynamicTool[];
  choice: ToolChoice;
}

type Raw = Record<string, unknown>;

/** Names of codex's own tools: a client function of the same name would shadow one of them. */
const CODEX_TOOL_NAMES = new Set([
  'exec_command',
  'write_stdin',
  'shell',
  'apply_patch',
  'update_plan',
  'request_user_input',
  'view_image',
]);

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `tools`, `tool_choice` and `parallel_tool_calls` of a Chat Completions (`shape: 'chat'`, the function
 * nested under `function`) or Responses request (`shape: 'responses'`, flat). Null when the request has no
 * tools; anything codex cannot offer is refused, never dropped.
 */
export function parseClientTools(
  body: { tools?: unknown; tool_choice?: unknown; parallel_tool_calls?: unknown },
  shape: 'chat' | 'responses',
): ClientTools | null {
  if (body.parallel_tool_calls === false) {
    throw invalidRequest(
      'parallel_tool_calls: false is not supported: codex lets the model make several calls in one response',
      'parallel_tool_calls',
    );
  }
  if (body.tools === undefined || body.tools === null) {
    if (body.tool_choice !== undefined && body.tool_choice !== 'none' && body.tool_choice !== 'auto') {
      throw invalidRequest('tool_choice needs tools', 'tool_choice');
    }
    return null;
  }
  if (!Array.isArray(body.tools)) throw invalidRequest('tools must be an array', 'tools');
  if (body.tools.length === 0) return null;
  const tools = body.tools.map((raw: unknown, i) => functionTool(raw, i, shape));
  const names = new Set<string>();
  for (const tool of tools) {
    if (names.has(tool.name)) throw invalidRequest(`tools has two functions named ${tool.name}`, 'tools');
    names.add(tool.name);
  }
  return { tools, choice: toolChoice(body.tool_choice, names, shape) };
}

function functionTool(raw: unknown, i: number, shape: 'chat' | 'responses'): DynamicTool {
  const where = `tools[${i}]`;
  const tool = (raw ?? {}) as Raw;
  if (tool.type !== 'function') {
    throw invalidRequest(
      `${where}.type ${JSON.stringify(tool.type)} is not supported: only function tools can be offered to codex`,
      'tools',
    );
  }
  const fn = (shape === 'chat' ? tool.function : tool) as Raw | undefined;
  if (!fn || typeof fn !== 'object') throw invalidRequest(`${where}.function is required`, 'tools');
  const name = fn.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalidRequest(`${where} needs a name of 1 to 64 letters, digits, _ or -`, 'tools');
  }
  if (CODEX_TOOL_NAMES.has(name)) {
    throw invalidRequest(`${where}.name ${name} is the name of one of codex's own tools; choose another`, 'tools');
  }
  const parameters = fn.parameters ?? { type: 'object', properties: {} };
  if (typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw invalidRequest(`${where} parameters must be a JSON schema object`, 'tools');
  }
  if (fn.description !== undefined && typeof fn.description !== 'string') {
    throw invalidRequest(`${where} description must be a string`, 'tools');
  }
  return { name, description: fn.description ?? '', inputSchema: parameters as Raw };
}

function toolChoice(raw: unknown, names: Set<string>, shape: 'chat' | 'responses'): ToolChoice {
  if (raw === undefined || raw === null || raw === 'auto') return 'auto';
  if (raw === 'none' || raw === 'required') return raw;
  const choice = raw as Raw;
  const name = shape === 'chat' ? (choice.function as Raw | undefined)?.name : choice.name;
  if (typeof choice !== 'object' || choice.type !== 'function' || typeof name !== 'string') {
    throw invalidRequest(
      'tool_choice must be "none", "auto", "required" or a function ({"type":"function", …})',
      'tool_choice',
    );
  }
  if (!names.has(name)) throw invalidRequest(`tool_choice names ${name}, which is not among tools`, 'tool_choice');
  return { name };
}

/** What a thread offers of the client's functions, comparable: a thread's tools are fixed when it starts. */
export function offeredToolsKey(tools: DynamicTool[] | undefined): string {
  return tools ? JSON.stringify(tools.map((t) => [t.name, t.description, t.inputSchema])) : '';
}

/** The functions a request offers its model: none with `tool_choice` `none`, nor with a forced call. */
export function offeredTools(tools: ClientTools | null): DynamicTool[] | undefined {
  return tools?.choice === 'auto' ? tools.tools : undefined;
}
