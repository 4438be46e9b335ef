import type { ExecutionContext } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { type ContextRequest, contextOf } from '../request-context/request-context';

/**
 * `CODEX_RATE_LIMIT_PER_MINUTE` requests per tenant per minute, counted across every route (probes,
 * status and metrics excepted). Runs after authentication, so the tenant is known; past the limit the
 * answer is 429 with `Retry-After`.
 */
@Injectable()
export class TenantThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    return Promise.resolve(contextOf(req as unknown as ContextRequest).tenant);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }
}
