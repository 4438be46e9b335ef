import { randomUUID } from 'node:crypto';
import { createParamDecorator, type ExecutionContext, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Who is asking and how to find the request in the logs; every adapter reads the tenant from here. */
export interface RequestContext {
  requestId: string;
  /** The tenant every codex lookup is scoped to (`default` in single-user mode). */
  tenant: string;
}

export const DEFAULT_TENANT = 'default';

export type ContextRequest = Request & { context?: RequestContext };

/** Accepts a caller's `X-Request-Id` only when it looks like an id (it is echoed and logged). */
function requestIdFrom(req: Request): string {
  const given = req.header('x-request-id');
  return given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

/** Gives every request a context (request id echoed in `X-Request-Id`, tenant `default`). */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  use(req: ContextRequest, res: Response, next: NextFunction): void {
    const requestId = requestIdFrom(req);
    req.context = { requestId, tenant: DEFAULT_TENANT };
    res.setHeader('X-Request-Id', requestId);
    next();
  }
}

export function contextOf(req: ContextRequest): RequestContext {
  req.context ??= { requestId: randomUUID(), tenant: DEFAULT_TENANT };
  return req.context;
}

/** Injects the {@link RequestContext} of the current HTTP request. */
export const Ctx = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestContext =>
  contextOf(ctx.switchToHttp().getRequest<ContextRequest>()),
);
