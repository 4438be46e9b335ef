import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { CodexEvent } from '@app/codex-transport';

/** Text deltas are sent at most this often (a long turn must not flood the client). */
export const PROGRESS_INTERVAL_MS = 250;

/** The longest text of one notification. */
const MAX_TEXT = 2000;

/**
 * What codex does during one tool call, told to the MCP client: `notifications/progress` (when the call
 * carried a `progressToken`) and `notifications/message` log lines for commands, file changes and
 * approvals. Message deltas are coalesced: what arrives within {@link PROGRESS_INTERVAL_MS} goes out as one.
 */
export class TurnProgress {
  private readonly token: string | number | undefined;
  private step = 0;
  private pending = '';
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly extra: RequestHandlerExtra<ServerRequest, ServerNotification>) {
    this.token = extra._meta?.progressToken;
  }

  push(event: CodexEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case 'item.delta':
        if (event.kind !== 'text') return;
        this.pending += event.delta;
        this.timer ??= setTimeout(() => this.flush(), PROGRESS_INTERVAL_MS);
        return;
      case 'item.completed':
        if (event.item.type === 'commandExecution') {
          this.log(`ran \`${event.item.command}\` (${event.item.status}, exit ${event.item.exitCode ?? '?'})`);
        } else if (event.item.type === 'fileChange') {
          this.log(`changed ${event.item.changes.map((c) => c.path).join(', ')}`);
        }
        return;
      case 'approval.requested':
        this.log(`waiting for approval ${event.approval.id}: ${event.approval.command ?? event.approval.kind}`);
        return;
      default:
        return;
    }
  }

  /** The turn began: its thread id is what `codex-interrupt` takes (the call's result comes only at its end). */
  started(threadId: string, turnId: string): void {
    this.log(`thread ${threadId}: turn ${turnId} started`);
  }

  /** Sends what is held and stops. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.progress(text);
  }

  private log(text: string): void {
    this.flush();
    this.send({
      method: 'notifications/message',
      params: { level: 'info', logger: 'codex', data: text.slice(0, MAX_TEXT) },
    });
    this.progress(text);
  }

  private progress(message: string): void {
    if (this.token === undefined) return;
    this.step++;
    this.send({
      method: 'notifications/progress',
      params: { progressToken: this.token, progress: this.step, message: message.slice(-MAX_TEXT) },
    });
  }

  private send(notification: ServerNotification): void {
    // A client that is gone cannot be told; its call is interrupted by the session.
    this.extra.sendNotification(notification).catch(() => undefined);
  }
}
