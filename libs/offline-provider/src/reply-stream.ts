import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type Item, messageText } from './input';
import { type Script, splitText, stampNow, wordsReply } from './script';

/** One streamed reply. */
export class ReplyStream {
  private readonly responseId = `resp_${randomUUID().replace(/-/g, '')}`;
  private closed = false;
  private outputIndex = 0;
  private readonly output: Item[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly body: Record<string, unknown>,
    private readonly script: Script,
    private readonly input: Item[],
    private readonly prompts: string[],
    private readonly deltaChars: number,
  ) {
    res.on('close', () => (this.closed = true));
  }

  async run(): Promise<void> {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    this.send('response.created', { response: this.responseObject('in_progress') });
    if (this.script.hang) return; // headers and one event, then silence until the client leaves
    const outputs = trailingToolOutputs(this.input);
    if (outputs.length > 0) {
      await this.message(this.jsonReply() ?? outputs.map((o) => this.afterTool(o)).join('\n'));
      return this.complete();
    }
    if (this.script.reasoning) await this.reasoning(this.script.reasoning);
    if (this.script.shell) {
      this.functionCall('exec_command', JSON.stringify({ cmd: this.script.shell, yield_time_ms: 10_000 }));
      return this.complete();
    }
    if (this.script.tools.length > 0) {
      for (const call of this.script.tools) this.functionCall(call.name, call.arguments);
      return this.complete();
    }
    await this.message(this.jsonReply() ?? this.replyText());
    if (this.script.cut) {
      this.res.end(); // no response.completed: codex treats the stream as broken
      return;
    }
    this.complete();
  }

  private replyText(): string {
    const s = this.script;
    if (s.reply !== null) return s.reply;
    if (s.words !== null) return wordsReply(s.words);
    if (s.memory) {
      const earlier = this.prompts.slice(0, -1);
      const list = earlier.map(
        (p, i) =>
          `${i + 1}) "${p
            .replace(/\[\[[^\]]*\]\]/g, '')
            .trim()
            .slice(0, 60)}"`,
      );
      return `I can see ${this.prompts.length} user messages in this conversation. Earlier: ${list.length ? list.join(', ') : 'none'}.`;
    }
    if (s.echoInstructions) {
      const instructions = this.input
        .filter((i) => i.type === 'message' && (i.role === 'developer' || i.role === 'system'))
        // codex puts its own instructions (tagged) in the same message as a thread's developer instructions
        .flatMap((i) =>
          Array.isArray(i.content)
            ? (i.content as Item[]).map((part) => messageText({ content: [part] }))
            : [messageText(i)],
        )
        .filter((t) => t.trim() && !/^\s*(<[a-z_ ]+>|You are a coding agent)/i.test(t));
      return `Instructions: ${instructions.length ? instructions.join(' | ') : 'none'}`;
    }
    return `Hello from the offline provider. You said: ${s.text || '(nothing)'}`;
  }

  /** The JSON answer: `[[json: …]]` as written, else a sample of the request's JSON schema format (if any). */
  private jsonReply(): string | null {
    if (this.script.json !== null) return this.script.json;
    const format = (this.body.text as { format?: { type?: unknown; schema?: unknown } } | undefined)?.format;
    if (format?.type !== 'json_schema' || !format.schema || typeof format.schema !== 'object') return null;
    return JSON.stringify(sampleOf(format.schema as Item, format.schema as Item));
  }

  private afterTool({ name, output }: ToolOutput): string {
    if (name !== 'exec_command') return `${name} returned: ${output}`;
    if (/rejected by user|approval request failed|exec_command failed/i.test(output)) {
      return `The command was not run: ${output.trim()}`;
    }
    const marker = output.indexOf('Output:\n');
    return `Command output:\n${marker >= 0 ? output.slice(marker + 'Output:\n'.length) : output}`;
  }

  private async reasoning(text: string): Promise<void> {
    const id = `rs_${randomUUID().replace(/-/g, '')}`;
    const index = this.outputIndex++;
    this.send('response.output_item.added', { output_index: index, item: { type: 'reasoning', id, summary: [] } });
    this.send('response.reasoning_summary_part.added', {
      item_id: id,
      output_index: index,
      summary_index: 0,
      part: { type: 'summary_text', text: '' },
    });
    for (const delta of splitText(text, Math.ceil(text.length / this.deltaChars))) {
      await this.pause();
      this.send('response.reasoning_summary_text.delta', { item_id: id, output_index: index, summary_index: 0, delta });
    }
    const item = { type: 'reasoning', id, summary: [{ type: 'summary_text', text }] };
    this.output.push(item);
    this.send('response.output_item.done', { output_index: index, item });
  }

  private async message(text: string): Promise<void> {
    const id = `msg_${randomUUID().replace(/-/g, '')}`;
    const index = this.outputIndex++;
    this.send('response.output_item.added', {
      output_index: index,
      item: { type: 'message', id, role: 'assistant', status: 'in_progress', content: [] },
    });
    this.send('response.content_part.added', {
      item_id: id,
      output_index: index,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [] },
    });
    const pieces = splitText(text, this.script.deltas ?? Math.ceil(text.length / this.deltaChars));
    const sent =
      this.script.stall !== null
        ? pieces.slice(0, this.script.stall)
        : this.script.cut
          ? pieces.slice(0, Math.max(1, Math.floor(pieces.length / 2)))
          : pieces;
    for (const delta of sent) {
      await this.pause();
      if (this.closed) return;
      this.send('response.output_text.delta', {
        item_id: id,
        output_index: index,
        content_index: 0,
        delta: this.script.stamp ? stampNow() : delta,
      });
    }
    if (this.script.cut) return;
    if (this.script.stall !== null) await this.untilClosed();
    if (this.closed) return;
    this.send('response.output_text.done', { item_id: id, output_index: index, content_index: 0, text });
    const item = {
      type: 'message',
      id,
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text, annotations: [] }],
    };
    this.output.push(item);
    this.send('response.output_item.done', { output_index: index, item });
  }

  /** A function call; `NAMESPACE/NAME` calls a function of a namespace tool (how codex offers MCP servers' tools). */
  private functionCall(qualified: string, args: string): void {
    const slash = qualified.indexOf('/');
    const name = slash >= 0 ? qualified.slice(slash + 1) : qualified;
    const item = {
      type: 'function_call',
      id: `fc_${randomUUID().replace(/-/g, '')}`,
      call_id: `call_${randomUUID().replace(/-/g, '').slice(0, 12)}`,
      ...(slash >= 0 ? { namespace: qualified.slice(0, slash) } : {}),
      name,
      arguments: args,
      status: 'completed',
    };
    const index = this.outputIndex++;
    this.output.push(item);
    this.send('response.output_item.added', { output_index: index, item: { ...item, arguments: '' } });
    this.send('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: args });
    this.send('response.function_call_arguments.done', { item_id: item.id, output_index: index, arguments: args });
    this.send('response.output_item.done', { output_index: index, item });
  }

  private complete(): void {
    this.send('response.completed', { response: this.responseObject('completed') });
    this.res.end();
  }

  private responseObject(status: string): Record<string, unknown> {
    const inputChars = JSON.stringify(this.body.input ?? []).length;
    const outputText = this.output.map((i) => JSON.stringify(i)).join('');
    const inputTokens = Math.ceil(inputChars / 4);
    const outputTokens = status === 'completed' ? Math.max(1, Math.ceil(outputText.length / 16)) : 0;
    return {
      id: this.responseId,
      object: 'response',
      status,
      model: this.body.model ?? 'offline',
      output: status === 'completed' ? this.output : [],
      usage:
        status === 'completed'
          ? {
              input_tokens: inputTokens,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens: outputTokens,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: inputTokens + outputTokens,
            }
          : null,
    };
  }

  /** Resolves when the client goes away (the stream is never finished otherwise). */
  private untilClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.res.once('close', () => resolve()));
  }

  private pause(): Promise<void> {
    const ms = this.script.delayMs;
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private send(type: string, data: Record<string, unknown>): void {
    if (this.closed) return;
    this.res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  }
}

interface ToolOutput {
  name: string;
  output: string;
}

/** The tool results the request ends with (codex sends them back after running the calls), with their calls' names. */
function trailingToolOutputs(input: Item[]): ToolOutput[] {
  let start = input.length;
  while (start > 0 && input[start - 1].type === 'function_call_output') start--;
  return input.slice(start).map((item) => {
    const call = input.find((i) => i.type === 'function_call' && i.call_id === item.call_id);
    const output = typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '');
    return { name: typeof call?.name === 'string' ? call.name : 'tool', output };
  });
}

/** A value that satisfies a (strict-mode) JSON schema: what a model asked for that format would answer. */
export function sampleOf(schema: Item, root: Item): unknown {
  const ref = typeof schema.$ref === 'string' ? schema.$ref : null;
  if (ref) {
    const path = ref.replace(/^#\//, '').split('/');
    const target = path.reduce<unknown>((node, key) => (node as Item | undefined)?.[key], root);
    return target && typeof target === 'object' ? sampleOf(target as Item, root) : null;
  }
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const alternatives = (schema.anyOf ?? schema.oneOf) as Item[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    const first = alternatives.find((a) => a.type !== 'null') ?? alternatives[0];
    return sampleOf(first, root);
  }
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const type = types.find((t) => t !== 'null') ?? types[0];
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Item>;
      return Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, sampleOf(sub, root)]));
    }
    case 'array':
      return schema.items && typeof schema.items === 'object' ? [sampleOf(schema.items as Item, root)] : [];
    case 'string':
      return 'example';
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}
