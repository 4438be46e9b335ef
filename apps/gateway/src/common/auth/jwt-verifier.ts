import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { unauthenticated, unavailable } from '../errors/gateway-error';

/** A token naming an unknown key refetches the key set at most this often. */
export const JWKS_REFETCH_COOLDOWN_MS = 1000;

/** Failures that say the token is bad (everything else says the key set could not be had). */
const TOKEN_ERRORS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
  errors.JWKInvalid,
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
];

export interface JwtOptions {
  jwksUrl: string;
  issuer: string | null;
  audience: string | null;
  timeoutMs: number;
}

/**
 * Verifies bearer JWTs against a JWKS: signature (asymmetric algorithms only), `exp`/`nbf` (30 s of clock
 * tolerance), `iss` and `aud` when configured. The key set is fetched on demand and again when a token
 * names a key it does not hold (key rotation), at most once a second. A JWKS that cannot be fetched is a 503.
 */
export class JwtVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly options: JwtOptions) {
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl), {
      timeoutDuration: options.timeoutMs,
      cooldownDuration: JWKS_REFETCH_COOLDOWN_MS,
      cacheMaxAge: 10 * 60_000,
    });
  }

  async subjectOf(token: string): Promise<string> {
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.options.issuer ?? undefined,
        audience: this.options.audience ?? undefined,
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
        clockTolerance: 30,
        requiredClaims: ['exp', 'sub'],
      });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0)
        throw new errors.JWTClaimValidationFailed('"sub" claim is empty', payload, 'sub');
      return payload.sub;
    } catch (error) {
      if (TOKEN_ERRORS.some((kind) => error instanceof kind)) {
        throw unauthenticated(`Invalid token (${(error as errors.JOSEError).code})`);
      }
      // The key set could not be fetched or read (network failure, timeout, non-200, bad JSON).
      throw unavailable('The key set of the identity provider could not be read');
    }
  }
}
