export class HealthStatusDto {
  /** `healthy` (or `ok` on `/healthz`). */
  status: string;
}

export class ServiceHealthDto extends HealthStatusDto {
  /** Always `codex-gateway`. */
  service: string;
}
