import { createHash } from 'node:crypto';

/**
 * The replica that owns a tenant: rendezvous (highest random weight) hashing over the replicas' ordinals.
 * It depends only on the tenant and the number of replicas, so every replica computes the same owner, and
 * going from N to N+1 replicas moves only the tenants whose highest weight is the new ordinal (about 1/(N+1)).
 */
export function ownerOf(tenant: string, replicas: number): number {
  let best = 0;
  let bestWeight = -1n;
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const weight = createHash('sha256').update(`${ordinal}\u0000${tenant}`).digest().readBigUInt64BE(0);
    if (weight > bestWeight) {
      best = ordinal;
      bestWeight = weight;
    }
  }
  return best;
}
