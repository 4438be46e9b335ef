import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { defer, type MonoTypeOperatorFunction, type Observable, tap } from 'rxjs';
import {
  AppServerTransport,
  type CodexEvent,
  CodexErrorCode,
  ExecTransport,
  isCodexTransportError,
} from '@app/codex-transport';
import { openSseStreams } from '../common/sse/sse-writer';

/** The protocols a turn can be asked for through. */
export type TurnProtocol = 'rest' | 'openai_chat' | 'openai_responses' | 'chat' | 'agent_stream' | 'mcp';

export interface TurnContext {
  protocol: TurnProtocol;
  tenant: string;
  requestId?: string;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * Prometheus metrics of the gateway (its own registry, `codex_gateway_` prefix): HTTP requests by
 * route and status with their duration, time to first token and turn duration by protocol, running
 * turns, live codex processes, process restarts, pending approvals, open streams, provider errors. Turn
 * observations come from {@link observeTurn}, which also writes one structured log line per turn.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly logger = new Logger('Turns');
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly ttft: Histogram<'protocol'>;
  private readonly turnDuration: Histogram<'protocol' | 'status'>;
  private readonly turns: Counter<'protocol' | 'status'>;
  private readonly providerErrors: Counter<'protocol'>;
  /** HTTP/2 streams open now (reported by the agent-stream listener). */
  openAgentStreams = 0;

  constructor(moduleRef: ModuleRef) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'codex_gateway_' });
    this.httpRequests = new Counter({
      name: 'codex_gateway_http_requests_total',
      help: 'HTTP requests answered, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'codex_gateway_http_request_duration_seconds',
      help: 'Time from request to the end of the response (streams included).',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ttft = new Histogram({
      name: 'codex_gateway_time_to_first_token_seconds',
      help: 'Time from asking for a turn to its first streamed token, by protocol.',
      labelNames: ['protocol'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.turnDuration = new Histogram({
      name: 'codex_gateway_turn_duration_seconds',
      help: 'Time from asking for a turn to its end, by protocol and final status.',
      labelNames: ['protocol', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.turns = new Counter({
      name: 'codex_gateway_turns_total',
      help: 'Turns that ended, by protocol and status (completed, interrupted, failed, refused, abandoned).',
      labelNames: ['protocol', 'status'],
      registers,
    });
    this.providerErrors = new Counter({
      name: 'codex_gateway_provider_errors_total',
      help: 'Turns that failed because the model provider failed, by protocol.',
      labelNames: ['protocol'],
      registers,
    });
    const appServer = () => moduleRef.get(AppServerTransport, { strict: false });
    const exec = () => moduleRef.get(ExecTransport, { strict: false });
    new Gauge({
      name: 'codex_gateway_turns_running',
      help: 'Turns running now (both backends).',
      registers,
      collect() {
        this.set(appServer().stats().runningTurns + exec().runningTurns);
      },
    });
    new Gauge({
      name: 'codex_gateway_codex_processes',
      help: 'Live codex app-server processes, by state (busy: a turn, approval or stream; idle).',
      labelNames: ['state'],
      registers,
      collect() {
        const processes = appServer()
          .processes()
          .filter((p) => p.pid !== undefined);
        const busy = processes.filter((p) => p.runningTurns > 0).length;
        this.set({ state: 'busy' }, busy);
        this.set({ state: 'idle' }, processes.length - busy);
      },
    });
    new Gauge({
      name: 'codex_gateway_codex_process_restarts',
      help: 'codex app-server processes that exited unexpectedly since the gateway started.',
      registers,
      collect() {
        this.set(appServer().stats().processRestarts);
      },
    });
    new Gauge({
      name: 'codex_gateway_approvals_pending',
      help: 'Approvals codex is waiting on.',
      registers,
      collect() {
        this.set(appServer().stats().pendingApprovals);
      },
    });
    const agentStreams = () => this.openAgentStreams;
    new Gauge({
      name: 'codex_gateway_open_streams',
      help: 'Client streams open now, by kind (sse, http2).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.set({ kind: 'sse' }, openSseStreams());
        this.set({ kind: 'http2' }, agentStreams());
      },
    });
  }

  recordHttp(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  /** The turn's events, observed: TTFT, duration, status, provider failures, and one log line at the end. */
  observeTurn(context: TurnContext): MonoTypeOperatorFunction<CodexEvent> {
    return (source: Observable<CodexEvent>) =>
      defer(() => {
        const started = performance.now();
        let firstToken: number | null = null;
        let ended = false;
        let threadId: string | null = null;
        let turnId: string | null = null;
        const end = (status: string, code?: string) => {
          if (ended) return;
          ended = true;
          const seconds = (performance.now() - started) / 1000;
          this.turnDuration.observe({ protocol: context.protocol, status }, seconds);
          this.turns.inc({ protocol: context.protocol, status });
          if (code === CodexErrorCode.PROVIDER_ERROR) this.providerErrors.inc({ protocol: context.protocol });
          this.logger.log({
            msg: 'turn ended',
            protocol: context.protocol,
            tenant: context.tenant,
            requestId: context.requestId,
            threadId,
            turnId,
            status,
            code,
            ttftMs: firstToken === null ? null : Math.round(firstToken - started),
            durationMs: Math.round(seconds * 1000),
          });
        };
        return source.pipe(
          tap({
            next: (event) => {
              if (event.type === 'turn.started') {
                threadId = event.threadId;
                turnId = event.turnId;
              }
              if (firstToken === null && event.type === 'item.delta' && event.kind === 'text') {
                firstToken = performance.now();
                this.ttft.observe({ protocol: context.protocol }, (firstToken - started) / 1000);
              }
              if (event.type === 'turn.completed') end(event.status, event.error?.code);
            },
            error: (error: unknown) => end('refused', isCodexTransportError(error) ? error.code : 'INTERNAL'),
            complete: () => end('abandoned'),
            unsubscribe: () => end('abandoned'),
          }),
        );
      });
  }
}
