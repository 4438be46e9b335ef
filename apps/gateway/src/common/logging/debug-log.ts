import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { serverConfig } from '../../config/gateway.config';

/**
 * CODEX_DEBUG_LOG: prompts, events and responses in the log, each cut to CODEX_LOG_MAX_CHARS.
 * Off by default — prompts can hold anything.
 */
@Injectable()
export class DebugLog {
  private readonly logger = new Logger('DebugLog');

  constructor(@Inject(serverConfig.KEY) private readonly server: ConfigType<typeof serverConfig>) {}

  get enabled(): boolean {
    return this.server.debugLog;
  }

  write(requestId: string, label: string, value: unknown): void {
    if (!this.server.debugLog) return;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const max = this.server.logMaxChars;
    const cut = text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
    this.logger.log(`[${requestId}] ${label}: ${cut}`);
  }
}
