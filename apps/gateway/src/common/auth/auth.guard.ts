import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { type ContextRequest, contextOf } from '../request-context/request-context';
import { Authenticator } from './authenticator';

export const IS_PUBLIC = 'codex-gateway:public';
/** Marks a route that never needs credentials (probes, status). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
export const IS_PUBLIC_WHEN = 'codex-gateway:public-when';
/** Marks a route that needs no credentials when this boolean configuration value is true. */
export const PublicWhen = (configPath: string) => SetMetadata(IS_PUBLIC_WHEN, configPath);

/**
 * Authenticates every route not marked {@link Public} (see {@link Authenticator}) and puts the caller's
 * tenant in the request context.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly config: ConfigService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const publicWhen = this.reflector.getAllAndOverride<string | undefined>(IS_PUBLIC_WHEN, targets);
    if (publicWhen && this.config.get<boolean>(publicWhen) === true) return true;
    const req = context.switchToHttp().getRequest<ContextRequest>();
    contextOf(req).tenant = await this.authenticator.tenantOfRequest(req);
    return true;
  }
}
