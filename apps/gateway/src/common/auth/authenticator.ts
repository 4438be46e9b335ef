import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { authConfig } from '../../config/gateway.config';
import { DEFAULT_TENANT } from '../request-context/request-context';
import { JwtVerifier } from './jwt-verifier';
import { KeycloakIntrospection, keycloakIntrospectionUrl } from './keycloak-introspection';
import { invalidRequest, unauthenticated } from '../errors/gateway-error';

/** Fixed-length digest so comparisons take the same time whatever the candidate's length. */
const digest = (value: string) => createHash('sha256').update(value).digest();

/** Introspection answers are reused for at most this long (and never past the token's `exp`). */
export const INTROSPECTION_CACHE_CEILING_MS = 30_000;

const TENANT_OVERRIDE = /^[A-Za-z0-9@._:+-]{1,128}$/;

type Headers = Record<string, string | string[] | undefined>;

const AUTHENTICATED = Symbol('authenticated tenant');

/** An HTTP request, with the answer of its authentication once asked. */
export interface AuthenticatedRequest {
  headers: Headers;
  query?: { user_id?: unknown };
  [AUTHENTICATED]?: Promise<string>;
}

const header = (headers: Headers, name: string): string | null => {
  const value = headers[name];
  return typeof value === 'string' ? value : null;
};

/**
 * The challenge every 401 carries (RFC 9110 requires one; MCP clients and OAuth-aware HTTP clients look for
 * it): a bearer token, whatever SECURITY_METHOD checks it (`X-API-Key` is accepted too).
 */
export const BEARER_CHALLENGE = 'Bearer realm="codex-gateway"';

/**
 * The credentials in a request's headers, the same way on every listener: the bearer token
 * (`Authorization: Bearer …`, or `X-API-Key`) and the `X-User-Id` override (or `userIdParam`, a query parameter).
 */
export function credentialsOf(headers: Headers, userIdParam?: unknown): Credentials {
  const authorization = header(headers, 'authorization');
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  return {
    token: bearer ?? header(headers, 'x-api-key'),
    userOverride: header(headers, 'x-user-id') ?? (typeof userIdParam === 'string' ? userIdParam : null),
  };
}

/** What a request carries that may identify its caller. */
export interface Credentials {
  token: string | null;
  /** `X-User-Id` header or `user_id` query parameter (honoured only with ALLOW_USER_ID_OVERRIDE). */
  userOverride?: string | null;
}

/**
 * Turns credentials into a tenant, the same way for every listener (HTTP/1.1 and HTTP/2):
 * `None` → `default`; `Token` → the tenant of the matching configured token (constant-time);
 * `Keycloak` → the `sub` of an active introspected token; `JWT` → the `sub` of a verified token.
 * Throws 401 for missing or bad credentials and 503 when the identity provider cannot answer.
 */
@Injectable()
export class Authenticator implements OnModuleInit {
  private readonly logger = new Logger('Auth');
  private readonly tokens: Array<{ tenant: string; digest: Buffer }>;
  private readonly introspection: KeycloakIntrospection | null = null;
  private readonly jwt: JwtVerifier | null = null;

  constructor(@Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>) {
    this.tokens = [
      ...(auth.token ? [{ tenant: DEFAULT_TENANT, digest: digest(auth.token) }] : []),
      ...auth.tokens.map((t) => ({ tenant: t.tenant, digest: digest(t.token) })),
    ];
    const k = auth.keycloak;
    if (auth.method === 'Keycloak') {
      this.introspection = new KeycloakIntrospection({
        url: k.introspectionUrl ?? keycloakIntrospectionUrl(k.baseUrl!, k.realm!),
        clientId: k.clientId ?? '',
        clientSecret: k.clientSecret ?? '',
        timeoutMs: k.timeoutMs,
        cacheCeilingMs: INTROSPECTION_CACHE_CEILING_MS,
      });
    }
    if (auth.method === 'JWT') {
      this.jwt = new JwtVerifier({
        jwksUrl: auth.jwt.jwksUrl!,
        issuer: auth.jwt.issuer,
        audience: auth.jwt.audience,
        timeoutMs: k.timeoutMs,
      });
    }
  }

  get method(): string {
    return this.auth.method;
  }

  onModuleInit(): void {
    if (this.auth.allowUserIdOverride) {
      this.logger.warn(
        'ALLOW_USER_ID_OVERRIDE=true: any caller may pick its tenant with X-User-Id or ?user_id=. For testing only; never in production.',
      );
    }
  }

  /**
   * The tenant of an HTTP request's credentials, authenticated once per request: the replica router and
   * the auth guard both ask (a JWT is verified, an introspection looked up, once).
   */
  tenantOfRequest(req: AuthenticatedRequest): Promise<string> {
    return (req[AUTHENTICATED] ??= this.tenantOf(credentialsOf(req.headers, req.query?.user_id)));
  }

  async tenantOf(credentials: Credentials): Promise<string> {
    const tenant = await this.authenticate(credentials.token);
    const override = credentials.userOverride;
    if (this.auth.allowUserIdOverride && override) {
      if (!TENANT_OVERRIDE.test(override))
        throw invalidRequest('X-User-Id / user_id must be 1-128 characters of [A-Za-z0-9@._:+-]');
      return override;
    }
    return tenant;
  }

  private async authenticate(token: string | null): Promise<string> {
    if (this.auth.method === 'None') return DEFAULT_TENANT;
    if (!token) throw unauthenticated('Missing bearer token');
    if (this.introspection) return this.introspection.subjectOf(token);
    if (this.jwt) return this.jwt.subjectOf(token);
    const candidate = digest(token);
    let tenant: string | null = null;
    for (const known of this.tokens) {
      // Every configured token is compared, so timing says nothing about which one (if any) matched.
      if (timingSafeEqual(candidate, known.digest) && tenant === null) tenant = known.tenant;
    }
    if (tenant === null) throw unauthenticated('Invalid bearer token');
    return tenant;
  }
}
