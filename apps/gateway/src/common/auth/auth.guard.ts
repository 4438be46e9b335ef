import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata, UnauthorizedException } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { authConfig } from '../../config/gateway.config';
import { type ContextRequest, contextOf, DEFAULT_TENANT } from '../request-context/request-context';

export const IS_PUBLIC = 'codex-gateway:public';
/** Marks a route that never needs credentials (probes). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Fixed-length digest so comparisons take the same time whatever the candidate's length. */
const digest = (value: string) => createHash('sha256').update(value).digest();

/** Reads the bearer token (`Authorization: Bearer …`, or `X-API-Key`). */
export function bearerToken(req: ContextRequest): string | null {
  const header = req.header('authorization');
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] ?? req.header('x-api-key') ?? null;
}

/**
 * Authenticates every route not marked {@link Public} and puts the caller's tenant in the request
 * context. `None`: everyone is tenant `default`. `Token`: `CODEX_GATEWAY_TOKEN` (tenant `default`) or
 * `CODEX_GATEWAY_TOKENS` (`tenant:token`), compared in constant time.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly tokens: Array<{ tenant: string; digest: Buffer }>;

  constructor(
    private readonly reflector: Reflector,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {
    if (auth.method === 'Keycloak' || auth.method === 'JWT') {
      throw new Error(`SECURITY_METHOD=${auth.method} is not available in this version; use None or Token`);
    }
    this.tokens = [
      ...(auth.token ? [{ tenant: DEFAULT_TENANT, digest: digest(auth.token) }] : []),
      ...auth.tokens.map((t) => ({ tenant: t.tenant, digest: digest(t.token) })),
    ];
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    if (this.auth.method === 'None') return true;
    const req = context.switchToHttp().getRequest<ContextRequest>();
    const token = bearerToken(req);
    if (!token) throw new UnauthorizedException('Missing bearer token');
    const candidate = digest(token);
    let tenant: string | null = null;
    for (const known of this.tokens) {
      // Every configured token is compared, so timing says nothing about which one (if any) matched.
      if (timingSafeEqual(candidate, known.digest) && tenant === null) tenant = known.tenant;
    }
    if (tenant === null) throw new UnauthorizedException('Invalid bearer token');
    contextOf(req).tenant = tenant;
    return true;
  }
}
