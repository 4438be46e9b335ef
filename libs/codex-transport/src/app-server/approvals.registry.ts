import { randomUUID } from 'node:crypto';
import { APPROVAL_DECISIONS, type ApprovalDecision, type ApprovalKind, type ApprovalRequest } from '../events';
import { CodexErrorCode, CodexTransportError } from '../errors/codex-transport.error';
import { strOrNull } from './item.mapper';

/** An approval to register: the request's fields (the registry gives the id and time), and how to answer it. */
export type NewApproval = Omit<ApprovalRequest, 'id' | 'createdAt'> & {
  /** Sends the decision to codex. */
  answer: (decision: ApprovalDecision) => void;
  /** Called once when the approval is resolved, however that happens. */
  onResolved: (decision: ApprovalDecision, reason: 'answered' | 'timeout' | 'turnEnded') => void;
};

/**
 * The request's fields from codex's `…/requestApproval` params: what it asks, and the decisions a client
 * may send — those codex offers plus accept, decline and cancel, and for commands `acceptForSession`.
 */
export function approvalFields(
  kind: ApprovalKind,
  params: Record<string, unknown>,
  fallbackTurnId: string,
): Pick<ApprovalRequest, 'kind' | 'turnId' | 'itemId' | 'command' | 'cwd' | 'reason' | 'availableDecisions'> {
  const offered = Array.isArray(params.availableDecisions)
    ? params.availableDecisions.filter((d): d is ApprovalDecision =>
        (APPROVAL_DECISIONS as readonly unknown[]).includes(d),
      )
    : [];
  const decisions = new Set<ApprovalDecision>([...offered, 'accept', 'decline', 'cancel']);
  if (kind === 'command') decisions.add('acceptForSession');
  return {
    kind,
    turnId: strOrNull(params.turnId) ?? fallbackTurnId,
    itemId: strOrNull(params.itemId),
    command: strOrNull(params.command),
    cwd: strOrNull(params.cwd),
    reason: strOrNull(params.reason),
    availableDecisions: APPROVAL_DECISIONS.filter((d) => decisions.has(d)),
  };
}

interface Entry {
  request: ApprovalRequest;
  answer: NewApproval['answer'];
  onResolved: NewApproval['onResolved'];
  timer: NodeJS.Timeout | null;
  /** Key codex uses for this request inside its process (to match `serverRequest/resolved`). */
  processKey: string | null;
}

const TOMBSTONE_LIMIT = 1000;

/**
 * Every approval codex is waiting on, across tenants and processes. An approval is answered at most
 * once: by a client, by the timeout (declined), or because its turn ended; later answers get
 * APPROVAL_RESOLVED and unknown or foreign ids APPROVAL_NOT_FOUND.
 */
export class ApprovalsRegistry {
  private readonly pending = new Map<string, Entry>();
  /** Ids answered recently, per tenant, so a late answer is a conflict rather than "not found". */
  private readonly resolved = new Map<string, string>();

  constructor(private readonly timeoutMs: number) {}

  add(input: NewApproval, processKey: string | null = null): ApprovalRequest {
    const { answer, onResolved, ...fields } = input;
    const request: ApprovalRequest = { id: `appr_${randomUUID().replace(/-/g, '')}`, ...fields, createdAt: Date.now() };
    const timer =
      this.timeoutMs > 0 ? setTimeout(() => this.finish(request.id, 'decline', 'timeout', true), this.timeoutMs) : null;
    timer?.unref();
    this.pending.set(request.id, { request, answer, onResolved, timer, processKey });
    return request;
  }

  list(tenant: string, threadId?: string): ApprovalRequest[] {
    return [...this.pending.values()]
      .map((e) => e.request)
      .filter((r) => r.tenant === tenant && (!threadId || r.threadId === threadId))
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  get(tenant: string, id: string): ApprovalRequest | undefined {
    const entry = this.pending.get(id);
    return entry && entry.request.tenant === tenant ? entry.request : undefined;
  }

  /** A client's answer. */
  respond(tenant: string, id: string, decision: ApprovalDecision): ApprovalRequest {
    const entry = this.pending.get(id);
    if (!entry || entry.request.tenant !== tenant) {
      if (this.resolved.get(id) === tenant) {
        throw new CodexTransportError(
          CodexErrorCode.APPROVAL_RESOLVED,
          `approval ${id} was already answered, timed out, or its turn ended`,
        );
      }
      throw new CodexTransportError(CodexErrorCode.APPROVAL_NOT_FOUND, `approval ${id} not found`);
    }
    this.finish(id, decision, 'answered', true);
    return entry.request;
  }

  /** codex says it no longer waits for this request (e.g. the turn was interrupted). */
  resolvedByCodex(processKey: string): void {
    for (const [id, entry] of this.pending) {
      if (entry.processKey === processKey) this.finish(id, 'cancel', 'turnEnded', false);
    }
  }

  /** The turn ended (or its process died): whatever still waits there is void. */
  endTurn(threadId: string, turnId: string | null): void {
    for (const [id, entry] of this.pending) {
      if (entry.request.threadId === threadId && (turnId === null || entry.request.turnId === turnId)) {
        this.finish(id, 'cancel', 'turnEnded', false);
      }
    }
  }

  /** Drops every approval of a process that is gone (nothing can be answered there). */
  dropProcess(processPrefix: string): void {
    for (const [id, entry] of this.pending) {
      if (entry.processKey?.startsWith(processPrefix)) this.finish(id, 'cancel', 'turnEnded', false);
    }
  }

  count(tenant?: string): number {
    if (tenant === undefined) return this.pending.size;
    let n = 0;
    for (const entry of this.pending.values()) if (entry.request.tenant === tenant) n++;
    return n;
  }

  private finish(
    id: string,
    decision: ApprovalDecision,
    reason: 'answered' | 'timeout' | 'turnEnded',
    sendToCodex: boolean,
  ): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    this.resolved.set(id, entry.request.tenant);
    if (this.resolved.size > TOMBSTONE_LIMIT) this.resolved.delete(this.resolved.keys().next().value as string);
    if (sendToCodex) entry.answer(decision);
    entry.onResolved(decision, reason);
  }
}
