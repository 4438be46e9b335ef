import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { type ContextRequest, contextOf } from '../common/request-context/request-context';
import { MetricsService } from './metrics.service';

/** The route pattern a request matched (`/v1/responses/:id`), never the raw path (ids and queries stay out). */
function routeOf(req: Request): string {
  // Express types `req.route` as any; it is the matched Layer's route, with the pattern in `path`.
  const route = (req as { route?: unknown }).route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? `${req.baseUrl}${route.path}` : 'unmatched';
}

/**
 * Counts and times every HTTP request by route and status, and writes one access-log line for it:
 * request id, tenant, method, route, status, duration — no headers, no query string, no body.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  private readonly logger = new Logger('Http');

  constructor(private readonly metrics: MetricsService) {}

  use(req: ContextRequest, res: Response, next: NextFunction): void {
    const started = performance.now();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const seconds = (performance.now() - started) / 1000;
      const route = routeOf(req);
      const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away first
      this.metrics.recordHttp(req.method, route, status, seconds);
      const context = contextOf(req);
      this.logger.log({
        msg: 'request',
        requestId: context.requestId,
        tenant: context.tenant,
        method: req.method,
        route,
        status,
        durationMs: Math.round(seconds * 1000),
      });
    };
    res.on('finish', record);
    res.on('close', record);
    next();
  }
}
