import type { CodexEvent, CodexItem, ItemStatus, TokenUsage } from '../events';
import { providerErrorMessage, providerFailure } from '../provider-error';

type Raw = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function status(v: unknown): ItemStatus {
  if (v === 'completed' || v === 'failed' || v === 'declined') return v;
  return 'inProgress';
}

/** Maps a `codex exec --json` item (snake_case) to the normalized item; null for warnings. */
export function mapExecItem(raw: Raw): CodexItem | null {
  const id = str(raw.id);
  switch (raw.type) {
    case 'agent_message':
      return { type: 'agentMessage', id, text: str(raw.text) };
    case 'reasoning':
      return { type: 'reasoning', id, text: str(raw.text) };
    case 'command_execution':
      return {
        type: 'commandExecution',
        id,
        command: str(raw.command),
        cwd: null,
        status: status(raw.status),
        output: str(raw.aggregated_output),
        exitCode: typeof raw.exit_code === 'number' ? raw.exit_code : null,
        durationMs: null,
      };
    case 'file_change':
      return {
        type: 'fileChange',
        id,
        status: status(raw.status),
        changes: (Array.isArray(raw.changes) ? (raw.changes as Raw[]) : []).map((c) => ({
          path: str(c.path),
          kind: str(c.kind),
        })),
      };
    case 'mcp_tool_call':
      return {
        type: 'toolCall',
        id,
        tool: str(raw.tool),
        server: typeof raw.server === 'string' ? raw.server : null,
        status: status(raw.status),
        arguments: raw.arguments ?? null,
        result: raw.result ?? null,
      };
    case 'web_search':
      return { type: 'webSearch', id, query: str(raw.query) };
    case 'error':
      return null;
    default:
      return { type: 'other', id, kind: str(raw.type) || 'unknown', raw };
  }
}

export function mapExecUsage(raw: unknown): TokenUsage {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Raw;
  const input = num(r.input_tokens);
  const output = num(r.output_tokens);
  return {
    inputTokens: input,
    cachedInputTokens: num(r.cached_input_tokens),
    outputTokens: output,
    reasoningOutputTokens: num(r.reasoning_output_tokens),
    totalTokens: input + output,
  };
}

/**
 * Stateful mapper for one `codex exec --json` run. exec streams no deltas, so a completed agent message
 * (or command) is emitted as started → one delta with its whole text (or output) → completed, which
 * gives adapters the same event sequence as the app-server backend.
 */
export class ExecEventMapper {
  threadId = '';
  private readonly started = new Set<string>();
  finished = false;

  constructor(
    readonly turnId: string,
    private readonly prompt: string,
  ) {}

  map(event: Raw): CodexEvent[] {
    const scope = () => ({ threadId: this.threadId, turnId: this.turnId });
    switch (event.type) {
      case 'thread.started':
        this.threadId = str(event.thread_id);
        return [{ type: 'thread.started', threadId: this.threadId }];
      case 'turn.started': {
        const user: CodexItem = { type: 'userMessage', id: `${this.turnId}-user`, text: this.prompt, content: [] };
        return [
          { type: 'turn.started', ...scope() },
          { type: 'item.started', ...scope(), item: user },
          { type: 'item.completed', ...scope(), item: user },
        ];
      }
      case 'item.started': {
        const item = mapExecItem((event.item ?? {}) as Raw);
        if (!item) return [];
        this.started.add(item.id);
        return [{ type: 'item.started', ...scope(), item }];
      }
      case 'item.completed': {
        const raw = (event.item ?? {}) as Raw;
        const item = mapExecItem(raw);
        if (!item)
          return [
            { type: 'warning', threadId: this.threadId || null, message: providerErrorMessage(str(raw.message)) },
          ];
        const out: CodexEvent[] = [];
        if (!this.started.has(item.id)) {
          const empty = item.type === 'agentMessage' || item.type === 'reasoning' ? { ...item, text: '' } : item;
          out.push({ type: 'item.started', ...scope(), item: empty });
        }
        this.started.delete(item.id);
        if ((item.type === 'agentMessage' || item.type === 'reasoning') && item.text) {
          const kind = item.type === 'agentMessage' ? 'text' : 'reasoning';
          out.push({ type: 'item.delta', ...scope(), itemId: item.id, kind, delta: item.text });
        }
        if (item.type === 'commandExecution' && item.output) {
          out.push({ type: 'item.delta', ...scope(), itemId: item.id, kind: 'output', delta: item.output });
        }
        out.push({ type: 'item.completed', ...scope(), item });
        return out;
      }
      case 'turn.completed':
        this.finished = true;
        return [
          { type: 'usage', ...scope(), usage: mapExecUsage(event.usage) },
          { type: 'turn.completed', ...scope(), status: 'completed', error: null },
        ];
      case 'turn.failed': {
        this.finished = true;
        const error = providerFailure(str((event.error as Raw | undefined)?.message) || 'the turn failed');
        return [{ type: 'turn.completed', ...scope(), status: 'failed', error }];
      }
      case 'error': {
        const message = providerErrorMessage(str(event.message));
        return [
          {
            type: 'error',
            threadId: this.threadId || null,
            turnId: this.turnId,
            message,
            willRetry: /^Reconnecting/i.test(message),
          },
        ];
      }
      default:
        return [];
    }
  }
}
