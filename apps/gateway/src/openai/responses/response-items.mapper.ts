import type { ApprovalRequest, CodexItem, ItemStatus as CodexItemStatus } from '@app/codex-transport';
import type { CodexOutputItem, ItemStatus } from './response-object';

/** An OpenAI-style item id (`msg_…`, `rs_…`) from codex's item id, which may already carry the prefix. */
export function outputId(prefix: string, codexId: string): string {
  const clean = codexId.replace(/[^A-Za-z0-9_]/g, '');
  return clean.startsWith(`${prefix}_`) ? clean : `${prefix}_${clean.replace(/_/g, '')}`;
}

/** Codex's item status in Responses terms; `running` stands for an item still in progress. */
function itemStatus(codexStatus: CodexItemStatus, running: ItemStatus): ItemStatus {
  if (codexStatus === 'completed') return 'completed';
  return codexStatus === 'inProgress' ? running : 'failed';
}

export function codexItem(item: CodexItem, status: ItemStatus): CodexOutputItem | null {
  switch (item.type) {
    case 'commandExecution':
      return {
        id: outputId('cmd', item.id),
        type: 'codex_command_execution',
        status: itemStatus(item.status, status),
        command: item.command,
        cwd: item.cwd,
        output: item.output,
        exit_code: item.exitCode,
        duration_ms: item.durationMs,
        declined: item.status === 'declined',
      };
    case 'fileChange':
      return {
        id: outputId('fc', item.id),
        type: 'codex_file_change',
        status: itemStatus(item.status, status),
        changes: item.changes,
      };
    case 'toolCall':
      return {
        id: outputId('tc', item.id),
        type: 'codex_tool_call',
        status: itemStatus(item.status, status),
        tool: item.tool,
        server: item.server,
        arguments: item.arguments,
        result: item.result,
      };
    case 'webSearch':
      return { id: outputId('ws', item.id), type: 'codex_web_search', status, query: item.query };
    case 'other':
      return { id: outputId('ci', item.id), type: 'codex_item', status, kind: item.kind };
    default:
      return null;
  }
}

/** An approval codex waits on, open until it is answered (at `POST /api/approvals/{id}`). */
export function approvalItem(approval: ApprovalRequest): CodexOutputItem {
  return {
    id: approval.id,
    type: 'codex_approval_request',
    status: 'in_progress',
    kind: approval.kind,
    command: approval.command,
    cwd: approval.cwd,
    reason: approval.reason,
    available_decisions: approval.availableDecisions,
    decision: null,
  };
}
