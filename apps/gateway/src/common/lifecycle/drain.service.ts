import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AppServerTransport, ExecTransport } from '@app/codex-transport';

/** Paths still served while draining: the probes (readiness says 503) and metrics. */
const OPEN_WHILE_DRAINING = /^\/(health(\/.*)?|healthz|status|metrics)$/;

/**
 * Graceful drain. On SIGTERM/SIGINT the gateway stops taking work at once (readiness answers 503, new
 * requests 503 with `Retry-After`), gives running turns up to the grace period to finish, and only
 * then closes (which interrupts what still runs, ends every stream with its terminal event and stops
 * every codex child).
 */
@Injectable()
export class DrainService {
  private readonly logger = new Logger('Drain');
  private startedAt: number | null = null;
  /** Other work a drain waits for, besides running turns (requests forwarded to another replica). */
  private readonly others: Array<() => number> = [];

  constructor(
    private readonly appServer: AppServerTransport,
    private readonly exec: ExecTransport,
  ) {}

  get draining(): boolean {
    return this.startedAt !== null;
  }

  runningTurns(): number {
    return this.appServer.stats().runningTurns + this.exec.runningTurns;
  }

  /** Makes every drain wait (within its grace period) until `count` is 0 too. */
  alsoWaitFor(count: () => number): void {
    this.others.push(count);
  }

  private running(): number {
    return this.others.reduce((sum, count) => sum + count(), this.runningTurns());
  }

  /** Refuses new work from now on and resolves when no turn runs or `graceMs` has passed. */
  async drain(graceMs: number): Promise<void> {
    this.startedAt ??= Date.now();
    const deadline = this.startedAt + graceMs;
    let running = this.running();
    if (running > 0)
      this.logger.log(
        `draining: waiting up to ${Math.round(graceMs / 1000)} s for ${running} running turn(s) and forwarded request(s)`,
      );
    while (running > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      running = this.running();
    }
    if (running > 0)
      this.logger.warn(`grace period over: interrupting ${running} running turn(s) and forwarded request(s)`);
  }
}

/** While draining, everything but the probes and metrics is refused with 503. */
@Injectable()
export class DrainMiddleware implements NestMiddleware {
  constructor(private readonly drainService: DrainService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    if (!this.drainService.draining || OPEN_WHILE_DRAINING.test(req.path)) {
      next();
      return;
    }
    res.setHeader('Retry-After', '5');
    res.setHeader('Connection', 'close');
    res.status(503).json({
      statusCode: 503,
      message: 'The gateway is shutting down; retry on another instance',
      error: 'Service Unavailable',
    });
  }
}
