/**
 * Why this file is long: one HTTP/2 stream is a small state machine — its session binding, the running turn,
 * the queue behind it, client end, close, heartbeats and the stalled-reader limit — and each client frame or
 * codex event changes several of those at once. The parts without state are outside: frame parsing
 * (client-frames), the event-to-frame mapping (event-frames.mapper), the byte framing (frame-codec).
 */
import { randomUUID } from 'node:crypto';
import { constants, type ServerHttp2Stream } from 'node:http2';
import type { LoggerService } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import {
  type AppServerTransport,
  CodexErrorCode,
  type CodexEvent,
  type TokenUsage,
  type TurnInput,
} from '@app/codex-transport';
import { describeFailure } from '../common/errors/failure';
import type { WorkspacePolicy } from '../common/workspace/workspace-policy';
import type { MetricsService } from '../metrics/metrics.service';
import type { ApproveFrame, CancelFrame, Framing, ServerFrame, UserMessageFrame } from './agent-frames';
import type { AgentSessionsStore } from './agent-sessions.store';
import { codexDecision, codexPolicy, FrameError, parseClientFrame } from './client-frames';
import { eventFrames } from './event-frames.mapper';
import { encodeFrame, FrameDecoder, FramingError } from './frame-codec';

/** A heartbeat is sent after this much silence. */
export const HEARTBEAT_MS = 15_000;
/** User messages waiting behind a running turn, at most. */
export const MAX_QUEUED = 32;

export interface AgentStreamDeps {
  transport: AppServerTransport;
  sessions: AgentSessionsStore;
  workspace: WorkspacePolicy;
  logger: LoggerService;
  metrics: MetricsService;
  /** What the stream may hold for a client that does not read; past it the stream is reset and its turn interrupted. */
  maxBufferedBytes: number;
}

interface RunningTurn {
  frameId: string | undefined;
  turnId: string | null;
  usage: TokenUsage | null;
  subscription: Subscription | null;
  ended: boolean;
}

/**
 * One `POST /agent/stream` HTTP/2 stream: reads client frames as they arrive and acts on each at once
 * (an `approve` or `cancel` never waits for the running turn), runs at most one turn at a time on the
 * session's codex thread (a `user_message` that arrives meanwhile is queued, in order), and writes server
 * frames in the stream's framing. When the stream closes, its running turn is interrupted (which also
 * declines its pending approvals) and its queue is dropped.
 */
export class AgentStreamSession {
  private readonly decoder: FrameDecoder;
  private sessionId: string | null = null;
  private threadId: string | null = null;
  private opening: Promise<void> = Promise.resolve();
  private running: RunningTurn | null = null;
  private readonly queue: UserMessageFrame[] = [];
  private clientDone = false;
  /** The server ended its side (no more frames are read or written). */
  private ended = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private corked = false;
  private readonly releaseHold: () => void;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly framing: Framing,
    private readonly tenant: string,
    private readonly deps: AgentStreamDeps,
  ) {
    this.decoder = new FrameDecoder(framing);
    this.releaseHold = deps.transport.holdStream(tenant);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.onClientEnd());
    stream.on('close', () => this.onClose());
    stream.on('error', () => undefined); // a reset stream; 'close' follows
    this.armHeartbeat();
  }

  /** Ends the stream from the server side (gateway stopping). */
  terminate(reason: string): void {
    if (this.closed) return;
    const run = this.running;
    if (run && this.sessionId) {
      // The client learns its turn ended (interrupted) before the stream does.
      this.send({
        type: 'turn_completed',
        id: run.frameId,
        sessionId: this.sessionId,
        turnId: run.turnId ?? '',
        status: 'interrupted',
        usage: run.usage,
      });
    }
    this.send({ type: 'terminate', reason });
    this.stopTurn();
    this.end();
  }

  // ---- inbound ----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed || this.ended) return;
    let decoded;
    try {
      decoded = this.decoder.push(chunk);
    } catch (error) {
      this.fatal(error as FramingError);
      return;
    }
    for (const item of decoded) {
      if (!item.ok) {
        this.send({ type: 'error', code: 'invalid_json', message: item.message });
        continue;
      }
      this.dispatch(item.value);
    }
  }

  private dispatch(value: unknown): void {
    let frame;
    try {
      frame = parseClientFrame(value);
    } catch (error) {
      const e = error as FrameError;
      const id = typeof (value as { id?: unknown })?.id === 'string' ? (value as { id: string }).id : undefined;
      this.send({ type: 'error', id, code: e.code, message: e.message });
      return;
    }
    switch (frame.type) {
      case 'ping':
        this.send({ type: 'heartbeat', id: frame.id, timestamp: Date.now() });
        return;
      case 'approve':
        this.approve(frame);
        return;
      case 'cancel':
        void this.cancel(frame);
        return;
      case 'user_message':
        // Session set-up is asynchronous; messages keep their order behind it.
        this.opening = this.opening
          .then(() => this.onUserMessage(frame))
          .catch((error: unknown) => this.reportError(error, frame.id));
        return;
    }
  }

  private onClientEnd(): void {
    this.clientDone = true;
    if (this.ended) return;
    try {
      for (const item of this.decoder.end()) {
        if (item.ok) this.dispatch(item.value);
        else this.send({ type: 'error', code: 'invalid_json', message: item.message });
      }
    } catch (error) {
      this.fatal(error as FramingError);
      return;
    }
    // The client has said everything: finish what it asked for, then end the stream.
    void this.opening.then(() => this.finishIfIdle());
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearTimeout(this.heartbeat);
    this.queue.length = 0;
    this.stopTurn();
    this.releaseHold();
  }

  /** A broken byte stream: say why, then end the stream cleanly. */
  private fatal(error: FramingError): void {
    this.send({ type: 'error', code: 'framing_error', message: error.message });
    this.terminate(`framing error: ${error.message}`);
  }

  // ---- frames -------------------------------------------------------------------------------------

  private async onUserMessage(frame: UserMessageFrame): Promise<void> {
    if (this.closed) return;
    await this.bind(frame);
    if (this.running || this.queue.length > 0) {
      if (this.queue.length >= MAX_QUEUED) {
        this.send({
          type: 'error',
          id: frame.id,
          sessionId: this.sessionId!,
          code: 'queue_full',
          message: `at most ${MAX_QUEUED} messages may wait behind a running turn`,
          retryable: true,
        });
        return;
      }
      this.queue.push(frame);
      this.send({
        type: 'status',
        id: frame.id,
        sessionId: this.sessionId!,
        message: 'queued',
        details: { position: this.queue.length },
      });
      return;
    }
    this.startTurn(frame);
  }

  /** The first user message binds the stream to its session (resuming the session's thread, or a new one). */
  private async bind(frame: UserMessageFrame): Promise<void> {
    if (this.sessionId) {
      if (frame.sessionId && frame.sessionId !== this.sessionId) {
        throw new FrameError(
          'invalid_frame',
          `this stream serves session ${this.sessionId}; open another stream for ${frame.sessionId}`,
        );
      }
      return;
    }
    const sessionId = frame.sessionId ?? randomUUID();
    const { transport, sessions, workspace } = this.deps;
    let threadId = await sessions.threadOf(this.tenant, sessionId);
    let resumed = threadId !== null;
    if (threadId) {
      // The thread may be gone from disk; then the session starts over.
      threadId = await transport.readThread(this.tenant, threadId).then(
        (t) => t.id,
        () => null,
      );
      resumed = threadId !== null;
    }
    if (!threadId) {
      const o = frame.configOverrides;
      const policy = codexPolicy(o);
      workspace.checkSandbox(policy.sandbox);
      const started = await transport.startThread(this.tenant, {
        model: o?.model,
        cwd: workspace.resolveCwd(this.tenant, o?.cwd, 'configOverrides.cwd'),
        approvalPolicy: policy.approvalPolicy,
        sandbox: policy.sandbox,
      });
      threadId = started.thread.id;
      await sessions.save(this.tenant, sessionId, threadId);
    }
    this.sessionId = sessionId;
    this.threadId = threadId;
    this.send({ type: 'session', id: frame.id, sessionId, threadId, resumed });
  }

  private startTurn(frame: UserMessageFrame): void {
    if (this.closed) return;
    const { transport, workspace } = this.deps;
    let input: TurnInput[];
    let policy: ReturnType<typeof codexPolicy>;
    let cwd: string | undefined;
    try {
      policy = codexPolicy(frame.configOverrides);
      workspace.checkSandbox(policy.sandbox);
      cwd =
        frame.configOverrides?.cwd === undefined
          ? undefined
          : workspace.resolveCwd(this.tenant, frame.configOverrides.cwd, 'configOverrides.cwd');
      input = [
        { type: 'text', text: frame.content },
        ...(frame.imagePaths ?? []).map((p, i) => ({
          type: 'localImage' as const,
          path: workspace.resolveFile(this.tenant, p, `imagePaths[${i}]`),
        })),
      ];
    } catch (error) {
      this.reportError(error, frame.id);
      this.next();
      return;
    }
    const run: RunningTurn = { frameId: frame.id, turnId: null, usage: null, subscription: null, ended: false };
    this.running = run;
    const subscription = transport
      .runTurn(this.tenant, {
        threadId: this.threadId!,
        input,
        model: frame.configOverrides?.model,
        approvalPolicy: policy.approvalPolicy,
        sandbox: policy.sandbox,
        cwd,
      })
      .pipe(this.deps.metrics.observeTurn({ protocol: 'agent_stream', tenant: this.tenant }))
      .subscribe({
        next: (event) => this.onEvent(run, event),
        error: (error: unknown) => {
          this.reportError(error, run.frameId);
          this.turnEnded(run);
        },
        complete: () => this.turnEnded(run),
      });
    run.subscription = subscription;
    if (run.ended) subscription.unsubscribe();
  }

  private onEvent(run: RunningTurn, event: CodexEvent): void {
    if (event.type === 'turn.started') run.turnId = event.turnId;
    if (event.type === 'usage') run.usage = event.usage;
    const turn = { id: run.frameId, sessionId: this.sessionId!, usage: run.usage };
    for (const frame of eventFrames(event, turn)) this.send(frame);
  }

  private approve(frame: ApproveFrame): void {
    const pending =
      this.threadId && frame.sessionId === this.sessionId
        ? this.deps.transport.listApprovals(this.tenant, this.threadId).find((a) => a.id === frame.commandId)
        : undefined;
    if (!pending) {
      this.send({
        type: 'error',
        id: frame.id,
        sessionId: frame.sessionId,
        code: 'approval_not_found',
        message: `no command ${frame.commandId} is waiting in session ${frame.sessionId}`,
      });
      return;
    }
    try {
      this.deps.transport.respondToApproval(this.tenant, frame.commandId, codexDecision(frame.decision));
    } catch (error) {
      this.reportError(error, frame.id);
    }
  }

  private async cancel(frame: CancelFrame): Promise<void> {
    const run = this.running;
    if (frame.sessionId !== this.sessionId || !run) {
      this.send({ type: 'status', id: frame.id, sessionId: frame.sessionId, message: 'nothing to cancel' });
      return;
    }
    this.send({
      type: 'status',
      id: frame.id,
      sessionId: frame.sessionId,
      message: 'cancelling',
      details: { turnId: run.turnId },
    });
    if (run.turnId) {
      // codex ends the turn as interrupted; its turn_completed follows.
      await this.deps.transport.interruptTurn(this.tenant, this.threadId!, run.turnId).catch(() => this.abandon(run));
    } else {
      this.abandon(run);
    }
  }

  /** Stops following a turn that has not reported its id yet (unsubscribing interrupts it in codex). */
  private abandon(run: RunningTurn): void {
    if (run.ended) return;
    run.subscription?.unsubscribe();
    this.send({
      type: 'turn_completed',
      id: run.frameId,
      sessionId: this.sessionId!,
      turnId: run.turnId ?? '',
      status: 'interrupted',
      usage: run.usage,
    });
    this.turnEnded(run);
  }

  private turnEnded(run: RunningTurn): void {
    if (run.ended) return;
    run.ended = true;
    if (this.running === run) this.running = null;
    this.next();
  }

  private next(): void {
    if (this.closed || this.running) return;
    const waiting = this.queue.shift();
    if (waiting) {
      this.startTurn(waiting);
      return;
    }
    this.finishIfIdle();
  }

  private finishIfIdle(): void {
    if (this.clientDone && !this.running && this.queue.length === 0 && !this.closed) {
      this.send({ type: 'terminate', reason: 'the client finished sending and every turn has ended' });
      this.end();
    }
  }

  private stopTurn(): void {
    const run = this.running;
    if (!run) return;
    run.ended = true;
    this.running = null;
    run.subscription?.unsubscribe();
  }

  // ---- outbound -----------------------------------------------------------------------------------

  private reportError(error: unknown, id: string | undefined): void {
    const sessionId = this.sessionId ?? undefined;
    if (error instanceof FrameError) {
      this.send({ type: 'error', id, sessionId, code: error.code, message: error.message });
      return;
    }
    const failure = describeFailure(error);
    if (failure.unexpected) {
      this.deps.logger.error(`agent stream: ${(error as Error)?.stack ?? String(error)}`, 'AgentStream');
      this.send({ type: 'error', id, sessionId, code: 'internal', message: 'internal error' });
      return;
    }
    // The frame's code: the transport's (THREAD_BUSY …), or for the gateway's own refusals a bad frame or the status.
    const code = failure.code ?? (failure.status === 400 ? 'invalid_frame' : `http_${failure.status}`);
    this.send({
      type: 'error',
      id,
      sessionId,
      code,
      message: failure.message,
      retryable: failure.retryAfter !== undefined,
      ...(failure.retryAfter !== undefined ? { retryAfter: failure.retryAfter } : {}),
    });
    // Without a codex process the stream can do nothing more: it ends instead of idling on heartbeats.
    const stopped: string[] = [CodexErrorCode.START_FAILED, CodexErrorCode.BINARY_NOT_FOUND];
    if (stopped.includes(code)) {
      this.terminate(failure.message);
    }
  }

  private send(frame: ServerFrame): void {
    if (this.closed || this.ended || this.stream.destroyed || this.stream.writableEnded) return;
    // The frames of one tick (codex often sends several lines at once) leave together.
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    this.stream.write(encodeFrame(this.framing, frame));
    if (this.stream.writableLength > this.deps.maxBufferedBytes) {
      this.overflow();
      return;
    }
    this.armHeartbeat();
  }

  /** The client has not read what it was sent: it is dropped like a client that left (its turn is interrupted). */
  private overflow(): void {
    this.deps.logger.warn(
      `agent stream: the client stopped reading (${this.stream.writableLength} bytes waiting, limit ${this.deps.maxBufferedBytes}); the stream is reset and its turn interrupted`,
      'AgentStream',
    );
    this.ended = true;
    this.stream.close(constants.NGHTTP2_CANCEL);
    this.onClose();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeat) clearTimeout(this.heartbeat);
    if (this.stream.destroyed) return;
    // Once our last frame is out, the stream is closed even if the client never ends its side.
    this.stream.once('finish', () => {
      if (!this.stream.closed) this.stream.close();
    });
    if (!this.stream.writableEnded) this.stream.end();
  }

  /** (Re)starts the silence timer; one timer per session, refreshed rather than replaced. */
  private armHeartbeat(): void {
    if (this.closed) return;
    if (this.heartbeat) {
      this.heartbeat.refresh();
      return;
    }
    this.heartbeat = setTimeout(() => this.send({ type: 'heartbeat', timestamp: Date.now() }), HEARTBEAT_MS);
    this.heartbeat.unref();
  }
}
