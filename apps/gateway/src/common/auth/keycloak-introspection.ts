import { createHash } from 'node:crypto';
import { unauthenticated, unavailable } from '../errors/gateway-error';

export interface IntrospectionOptions {
  /** The RFC 7662 endpoint. */
  url: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  /** Upper bound on how long an `active` answer is reused (it is never reused past the token's `exp`). */
  cacheCeilingMs: number;
  /** Largest number of cached answers; the oldest go first. */
  cacheSize?: number;
}

interface CachedIdentity {
  subject: string;
  until: number;
}

/** The Keycloak realm's standard introspection endpoint. */
export function keycloakIntrospectionUrl(baseUrl: string, realm: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token/introspect`;
}

/**
 * OAuth2 token introspection (RFC 7662) against Keycloak: the gateway authenticates as its client
 * (HTTP Basic) and posts the caller's token. `active:false` is a 401; an identity provider that cannot
 * be reached, times out or answers an error is a 503 — never a pass. Active answers are cached by a
 * digest of the token, no longer than its `exp` and the ceiling.
 */
export class KeycloakIntrospection {
  private readonly cache = new Map<string, CachedIdentity>();

  constructor(private readonly options: IntrospectionOptions) {}

  async subjectOf(token: string, now = Date.now()): Promise<string> {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.subject;
    if (cached) this.cache.delete(key);

    const answer = await this.introspect(token);
    if (answer.active !== true) throw unauthenticated('The token is not active');
    const subject = typeof answer.sub === 'string' && answer.sub ? answer.sub : null;
    if (!subject) throw unauthenticated('The token names no subject');
    const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : null;
    if (exp !== null && exp <= now) throw unauthenticated('The token has expired');
    const until = Math.min(now + this.options.cacheCeilingMs, exp ?? Number.POSITIVE_INFINITY);
    this.cache.set(key, { subject, until });
    if (this.cache.size > (this.options.cacheSize ?? 10_000)) this.cache.delete(this.cache.keys().next().value!);
    return subject;
  }

  private async introspect(token: string): Promise<Record<string, unknown>> {
    const credentials = Buffer.from(
      `${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`,
    ).toString('base64');
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${credentials}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
    } catch {
      throw unavailable('The identity provider could not be reached');
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw unavailable(`The identity provider answered ${response.status}`);
    }
    try {
      const body: unknown = await response.json();
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
      return body as Record<string, unknown>;
    } catch {
      throw unavailable('The identity provider sent an unreadable answer');
    }
  }
}
