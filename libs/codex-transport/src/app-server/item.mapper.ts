import type { CodexItem, ItemStatus, TokenUsage } from '../events';

type Raw = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** A field codex sent as a string, or null when it is absent or of another type. */
export const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function status(v: unknown): ItemStatus {
  return v === 'completed' || v === 'failed' || v === 'declined' ? v : 'inProgress';
}

/** Joins text parts that codex gives either as strings or as `{text}` objects. */
function joinText(parts: unknown): string {
  if (!Array.isArray(parts)) return typeof parts === 'string' ? parts : '';
  return parts
    .map((p) => (typeof p === 'string' ? p : p && typeof p === 'object' ? str((p as Raw).text) : ''))
    .filter((t) => t.length > 0)
    .join('\n');
}

/** Maps an app-server `ThreadItem` to the normalized item. Unknown kinds are kept as `other`. */
export function mapThreadItem(raw: Raw): CodexItem {
  const id = str(raw.id);
  switch (raw.type) {
    case 'userMessage': {
      const content = Array.isArray(raw.content) ? (raw.content as Raw[]) : [];
      return {
        type: 'userMessage',
        id,
        text: content
          .filter((c) => c && c.type === 'text')
          .map((c) => str(c.text))
          .join('\n'),
        content: content.filter((c) => c && c.type !== 'text'),
      };
    }
    case 'agentMessage':
      return { type: 'agentMessage', id, text: str(raw.text) };
    case 'reasoning':
      return { type: 'reasoning', id, text: joinText(raw.summary) || joinText(raw.content) };
    case 'commandExecution':
      return {
        type: 'commandExecution',
        id,
        command: str(raw.command),
        cwd: strOrNull(raw.cwd),
        status: status(raw.status),
        output: str(raw.aggregatedOutput),
        exitCode: numOrNull(raw.exitCode),
        durationMs: numOrNull(raw.durationMs),
      };
    case 'fileChange': {
      const changes = Array.isArray(raw.changes) ? (raw.changes as Raw[]) : [];
      return {
        type: 'fileChange',
        id,
        status: status(raw.status),
        changes: changes.map((c) => ({
          path: str(c.path),
          kind: c.kind && typeof c.kind === 'object' ? str((c.kind as Raw).type) : str(c.kind),
          diff: typeof c.diff === 'string' ? c.diff : undefined,
        })),
      };
    }
    case 'dynamicToolCall':
      return {
        type: 'clientToolCall',
        id,
        tool: str(raw.tool),
        status: status(raw.status),
        arguments: raw.arguments ?? null,
        result: raw.contentItems ?? null,
      };
    case 'mcpToolCall':
      return {
        type: 'toolCall',
        id,
        tool: str(raw.tool),
        server: strOrNull(raw.server) ?? strOrNull(raw.namespace),
        status: status(raw.status),
        arguments: raw.arguments ?? null,
        result: raw.result ?? raw.contentItems ?? null,
      };
    case 'webSearch':
      return { type: 'webSearch', id, query: str(raw.query) };
    default:
      return { type: 'other', id, kind: str(raw.type) || 'unknown', raw };
  }
}

/** Maps codex's `TokenUsageBreakdown` (camelCase) to the normalized usage. */
export function mapTokenUsage(raw: unknown): TokenUsage {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Raw;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    inputTokens: n(r.inputTokens),
    cachedInputTokens: n(r.cachedInputTokens),
    outputTokens: n(r.outputTokens),
    reasoningOutputTokens: n(r.reasoningOutputTokens),
    totalTokens: n(r.totalTokens) || n(r.inputTokens) + n(r.outputTokens),
  };
}
