import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { codexConfig } from '../config/gateway.config';
import { notFound } from '../common/errors/gateway-error';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** The models clients may name: the advertised ones (default: the configured model) and the aliases. */
@Injectable()
export class ModelsService {
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(@Inject(codexConfig.KEY) private readonly codex: ConfigType<typeof codexConfig>) {}

  list(): ModelObject[] {
    const ids = [
      ...(this.codex.advertisedModels.length > 0 ? this.codex.advertisedModels : [this.codex.model]),
      ...Object.keys(this.codex.modelAliases),
    ];
    return [...new Set(ids)].map((id) => ({ id, object: 'model', created: this.created, owned_by: 'codex-gateway' }));
  }

  get(id: string): ModelObject {
    const model = this.list().find((m) => m.id === id);
    if (!model) throw notFound(`The model '${id}' does not exist`);
    return model;
  }

  /** The codex model for a requested name (aliases resolved; other names pass through). */
  resolve(requested: string): string {
    return this.codex.modelAliases[requested] ?? requested;
  }
}
