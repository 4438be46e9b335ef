import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { AppServerTransport, type CodexEvent } from '@app/codex-transport';
import { invalidRequest } from '../../common/errors/gateway-error';
import { ToolTurn } from './tool-turn';

/** A client's result for one tool call. */
export interface ToolResult {
  callId: string;
  output: string;
}

/**
 * The turns that wait (or may come to wait) on their client's tools, found by the ids of the calls they
 * wait on — per tenant: another tenant's call id is unknown here.
 */
@Injectable()
export class ToolTurns {
  private readonly byCall = new Map<string, ToolTurn>();

  constructor(private readonly appServer: AppServerTransport) {}

  /** Holds a turn (not started until its first reader subscribes). */
  hold(tenant: string, turn$: Observable<CodexEvent>): ToolTurn {
    const keys = new Set<string>();
    const turn: ToolTurn = new ToolTurn(turn$, {
      onCall: (call) => {
        const key = callKey(tenant, call.callId);
        keys.add(key);
        this.byCall.set(key, turn);
      },
      onSettled: (callId) => {
        const key = callKey(tenant, callId);
        keys.delete(key);
        if (this.byCall.get(key) === turn) this.byCall.delete(key);
      },
      onEnd: () => {
        for (const key of keys) if (this.byCall.get(key) === turn) this.byCall.delete(key);
        keys.clear();
      },
    });
    return turn;
  }

  /**
   * The suspended turn these results answer, with the results given to codex; null when none of the calls
   * waits here (the request then replays its history instead). Results that answer only part of what a
   * turn waits on, or calls of two turns, are refused: OpenAI requires every call of a response answered.
   */
  resume(tenant: string, results: ToolResult[]): ToolTurn | null {
    const turns = new Set(results.map((r) => this.byCall.get(callKey(tenant, r.callId))));
    if (turns.size === 1 && turns.has(undefined)) return null;
    const turn = [...turns][0];
    if (turns.size > 1 || !turn) {
      throw invalidRequest('the tool results answer calls of different responses; answer one response at a time');
    }
    const missing = [...turn.pending.keys()].filter((id) => !results.some((r) => r.callId === id));
    if (missing.length > 0) {
      throw invalidRequest(`tool results are missing for call_id ${missing.join(', ')}`);
    }
    for (const result of results) {
      this.appServer.answerToolCall(tenant, turn.threadId, result.callId, { text: result.output, success: true });
    }
    return turn;
  }
}

const callKey = (tenant: string, callId: string) => `${tenant}\u0000${callId}`;
