import { CodexErrorCode } from '../errors/codex-transport.error';
import type { ApprovalDecision } from '../events';
import { ApprovalsRegistry, type NewApproval } from './approvals.registry';

function approval(overrides: Partial<NewApproval> = {}) {
  const answers: ApprovalDecision[] = [];
  const resolutions: Array<[ApprovalDecision, string]> = [];
  const input: NewApproval = {
    tenant: 'alice',
    kind: 'command',
    threadId: 'thread-1',
    turnId: 'turn-1',
    itemId: 'call_1',
    command: 'echo hi',
    cwd: '/w',
    reason: null,
    availableDecisions: ['accept', 'decline', 'cancel'],
    answer: (d) => answers.push(d),
    onResolved: (d, r) => resolutions.push([d, r]),
    ...overrides,
  };
  return { input, answers, resolutions };
}

describe('ApprovalsRegistry', () => {
  afterEach(() => jest.useRealTimers());

  it('lists pending approvals per tenant and thread', () => {
    const registry = new ApprovalsRegistry(0);
    const a = registry.add(approval().input);
    registry.add(approval({ tenant: 'bob' }).input);
    registry.add(approval({ threadId: 'thread-2' }).input);
    expect(registry.list('alice').map((r) => r.threadId)).toEqual(['thread-1', 'thread-2']);
    expect(registry.list('alice', 'thread-1').map((r) => r.id)).toEqual([a.id]);
    expect(registry.list('bob')).toHaveLength(1);
    expect(registry.count()).toBe(3);
  });

  it('sends an answer to codex once; a second answer is a conflict', () => {
    const registry = new ApprovalsRegistry(0);
    const { input, answers, resolutions } = approval();
    const request = registry.add(input);
    registry.respond('alice', request.id, 'acceptForSession');
    expect(answers).toEqual(['acceptForSession']);
    expect(resolutions).toEqual([['acceptForSession', 'answered']]);
    expect(() => registry.respond('alice', request.id, 'accept')).toThrow(
      expect.objectContaining({ code: CodexErrorCode.APPROVAL_RESOLVED }),
    );
    expect(answers).toHaveLength(1);
  });

  it("treats another tenant's id exactly like an unknown id", () => {
    const registry = new ApprovalsRegistry(0);
    const { input, answers } = approval();
    const request = registry.add(input);
    expect(() => registry.respond('bob', request.id, 'accept')).toThrow(
      expect.objectContaining({ code: CodexErrorCode.APPROVAL_NOT_FOUND }),
    );
    expect(() => registry.respond('bob', 'appr_unknown', 'accept')).toThrow(
      expect.objectContaining({ code: CodexErrorCode.APPROVAL_NOT_FOUND }),
    );
    expect(answers).toEqual([]);
    expect(registry.get('bob', request.id)).toBeUndefined();
  });

  it('declines an approval nobody answers after the timeout', () => {
    jest.useFakeTimers();
    const registry = new ApprovalsRegistry(1000);
    const { input, answers, resolutions } = approval();
    const request = registry.add(input);
    jest.advanceTimersByTime(999);
    expect(answers).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(answers).toEqual(['decline']);
    expect(resolutions).toEqual([['decline', 'timeout']]);
    expect(() => registry.respond('alice', request.id, 'accept')).toThrow(
      expect.objectContaining({ code: CodexErrorCode.APPROVAL_RESOLVED }),
    );
  });

  it('voids approvals of an ended turn without answering codex', () => {
    const registry = new ApprovalsRegistry(0);
    const one = approval();
    const other = approval({ turnId: 'turn-2', threadId: 'thread-2' });
    registry.add(one.input);
    registry.add(other.input);
    registry.endTurn('thread-1', 'turn-1');
    expect(one.answers).toEqual([]);
    expect(one.resolutions).toEqual([['cancel', 'turnEnded']]);
    expect(registry.list('alice').map((r) => r.turnId)).toEqual(['turn-2']);
  });

  it('resolves by codex process key (serverRequest/resolved) and drops a dead process', () => {
    const registry = new ApprovalsRegistry(0);
    const a = approval();
    const b = approval();
    registry.add(a.input, 'p1:1:0');
    registry.add(b.input, 'p1:2:0');
    registry.resolvedByCodex('p1:1:0');
    expect(a.resolutions).toEqual([['cancel', 'turnEnded']]);
    registry.dropProcess('p1:2:');
    expect(b.resolutions).toEqual([['cancel', 'turnEnded']]);
    expect(registry.count()).toBe(0);
  });
});
