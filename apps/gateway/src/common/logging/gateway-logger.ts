import type { LoggerService, LogLevel } from '@nestjs/common';

const ORDER: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const LEVEL_NAMES: Record<LogLevel, string> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};
const REDACTED = '[REDACTED]';

/** Header-like and field names whose values are never written. */
const SECRET_FIELD = /^(authorization|x-api-key|cookie|set-cookie|token|access_token|api_key|apikey|password|secret|client_secret)$/i;

/**
 * Structured logs: one JSON object per line on stdout (`time`, `level`, `context`, `msg`, plus the fields
 * of an object message such as `requestId`, `tenant`, `threadId`, `turnId`). Secrets never reach a line:
 * the configured secret values (gateway tokens, provider key, client secret) are replaced wherever they
 * appear, bearer credentials are masked, and fields named like credentials are dropped.
 */
export class JsonLogger implements LoggerService {
  private readonly enabled: Set<LogLevel>;

  constructor(
    level: LogLevel,
    private readonly secrets: string[] = [],
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
  ) {
    this.enabled = new Set(ORDER.slice(0, Math.max(0, ORDER.indexOf(level)) + 1));
    this.secrets = secrets.filter((s) => s && s.length >= 4).sort((a, b) => b.length - a.length);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('fatal', message, rest);
  }

  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.enabled.has(level)) return;
    // Nest passes the context last; an error's stack comes before it.
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const stack = level === 'error' && rest.length >= 2 && typeof rest[0] === 'string' ? rest[0] : undefined;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: LEVEL_NAMES[level], pid: process.pid, context };
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      for (const [key, value] of Object.entries(message)) if (!SECRET_FIELD.test(key)) entry[key] = value;
    } else {
      entry.msg = String(message);
    }
    if (stack) entry.stack = stack;
    this.write(`${this.redact(JSON.stringify(entry))}\n`);
  }

  private redact(line: string): string {
    let out = line;
    for (const secret of this.secrets) {
      const encoded = JSON.stringify(secret).slice(1, -1);
      out = out.split(encoded).join(REDACTED);
    }
    return out.replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi, `$1 ${REDACTED}`);
  }
}
