import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { codexConfig, replicasConfig, tenancyConfig } from '../config/gateway.config';
import { ownerOf } from './ownership';
import { type DataLayout, hasTenant } from './tenant-data';

/** Where a tenant's request is served. */
export type Placement =
  | { kind: 'here' }
  | { kind: 'owner'; owner: number }
  /** This replica owns the tenant since a replica count change, and its data has not been moved here yet. */
  | { kind: 'moving'; from: number };

/** The replica set as this replica sees it: its ordinal, the peers, and which of them serves a tenant. */
@Injectable()
export class ReplicaSet {
  private readonly layout: DataLayout;
  /** Tenants known to have their data here (only consulted while a move is going on). */
  private readonly arrived = new Set<string>();

  constructor(
    @Inject(replicasConfig.KEY) private readonly replicas: ConfigType<typeof replicasConfig>,
    @Inject(codexConfig.KEY) codex: ConfigType<typeof codexConfig>,
    @Inject(tenancyConfig.KEY) tenancy: ConfigType<typeof tenancyConfig>,
  ) {
    this.layout = {
      baseDataDir: tenancy.baseDataDir,
      workspace: codex.workspace,
      tenantWorkspaces: codex.multiTenant,
    };
  }

  get index(): number {
    return this.replicas.index;
  }

  get size(): number {
    return this.replicas.peers.length;
  }

  placeOf(tenant: string): Placement {
    const { peers, index, replicasBefore } = this.replicas;
    if (peers.length < 2) return { kind: 'here' };
    const owner = ownerOf(tenant, peers.length);
    if (owner !== index) return { kind: 'owner', owner };
    if (replicasBefore === null || this.arrived.has(tenant)) return { kind: 'here' };
    const before = ownerOf(tenant, replicasBefore);
    if (before === index || hasTenant(this.layout, tenant)) {
      if (this.arrived.size < 100_000) this.arrived.add(tenant);
      return { kind: 'here' };
    }
    return { kind: 'moving', from: before };
  }
}
