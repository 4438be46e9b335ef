import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type KeyLike, SignJWT } from 'jose';

export interface Introspected {
  active: boolean;
  sub?: string;
  exp?: number;
}

/**
 * A stand-in identity provider on loopback: Keycloak's token introspection endpoint (realm `test`,
 * client `gateway` / `gateway-secret`) and a JWKS with keys generated here, plus a signer for tokens.
 */
export class TestIdentityProvider {
  readonly realm = 'test';
  readonly clientId = 'gateway';
  readonly clientSecret = 'gateway-secret';
  readonly issuer = 'https://idp.test/realms/test';
  readonly audience = 'codex-gateway';
  /** Token → introspection answer. */
  readonly tokens = new Map<string, Introspected>();
  introspections = 0;
  /** Answer every request with this status instead (an identity provider in trouble). */
  failWith: number | null = null;
  private server: Server | null = null;
  private readonly keys: Array<{ kid: string; privateKey: KeyLike; jwk: JWK }> = [];
  url = '';

  async start(): Promise<void> {
    await this.rotate();
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.failWith) {
          res.writeHead(this.failWith).end('down');
          return;
        }
        if (req.method === 'GET' && req.url === '/jwks') {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
          return;
        }
        if (req.method === 'POST' && req.url === `/realms/${this.realm}/protocol/openid-connect/token/introspect`) {
          const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
          if (req.headers.authorization !== expected) {
            res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
            return;
          }
          this.introspections++;
          const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token') ?? '';
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify(this.tokens.get(token) ?? { active: false }));
          return;
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get jwksUrl(): string {
    return `${this.url}/jwks`;
  }

  /** Adds a new signing key (the newest signs from now on); the old ones stay published. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = `key-${this.keys.length + 1}`;
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    this.keys.push({ kid, privateKey: privateKey, jwk });
    return kid;
  }

  /** A signed token; `claims` override the valid defaults (sub, iss, aud, exp in 5 minutes). */
  async sign(
    sub: string,
    claims: Record<string, unknown> = {},
    options: { key?: KeyLike; kid?: string } = {},
  ): Promise<string> {
    const newest = this.keys.at(-1)!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.issuer, aud: this.audience, sub, iat: now, exp: now + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? newest.kid })
      .sign(options.key ?? newest.privateKey);
  }

  /** A key the provider never published (for badly signed tokens). */
  async strangerKey(): Promise<KeyLike> {
    return (await generateKeyPair('RS256')).privateKey;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}
