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

/** A log field as text: strings as they are, anything else as JSON. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Header-like and field names whose values are never written. */
const SECRET_FIELD =
  /^(authorization|x-api-key|cookie|set-cookie|token|access_token|api_key|apikey|password|secret|client_secret)$/i;

/** Contexts of Nest's start-up chatter (a line per module, route and mapping): debug, not info. */
const STARTUP_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

export type LogFormat = 'json' | 'pretty';

/**
 * The gateway's logger. `json`: one JSON object per line (`time`, `level`, `pid`, `context`, `msg`, plus the
 * fields of an object message such as `requestId`, `tenant`, `threadId`, `turnId`), for log collectors.
 * `pretty`: one short line per entry (`12:00:01.234 INFO  [Context] message key=value …`), for a person at
 * a terminal. Nest's start-up lines are debug. Secrets never reach a line in either format: the configured
 * secret values (gateway tokens, provider key, client secret) are replaced wherever they appear, bearer
 * credentials are masked, and fields named like credentials are dropped.
 */
export class GatewayLogger implements LoggerService {
  private readonly enabled: Set<LogLevel>;

  constructor(
    level: LogLevel,
    private readonly secrets: string[] = [],
    private readonly format: LogFormat = 'json',
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

  private emit(requested: LogLevel, message: unknown, rest: unknown[]): void {
    // Nest passes the context last; an error's stack comes before it.
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const level = requested === 'log' && context !== undefined && STARTUP_CONTEXTS.has(context) ? 'debug' : requested;
    if (!this.enabled.has(level)) return;
    const stack = level === 'error' && rest.length >= 2 && typeof rest[0] === 'string' ? rest[0] : undefined;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: LEVEL_NAMES[level],
      pid: process.pid,
      context,
    };
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      for (const [key, value] of Object.entries(message)) if (!SECRET_FIELD.test(key)) entry[key] = value;
    } else {
      entry.msg = String(message);
    }
    if (stack) entry.stack = stack;
    this.write(`${this.format === 'json' ? this.redact(JSON.stringify(entry)) : this.pretty(entry)}\n`);
  }

  private pretty(entry: Record<string, unknown>): string {
    const { time, level, pid: _pid, context, msg, stack, ...fields } = entry;
    const clock = String(time).slice(11, 23);
    const head = `${clock} ${text(level).toUpperCase().padEnd(5)}${context ? ` [${text(context)}]` : ''}`;
    const pairs = Object.entries(fields).map(([key, value]) => `${key}=${text(value)}`);
    const line = [head, msg === undefined ? undefined : text(msg), ...pairs]
      .filter((part) => part !== undefined)
      .join(' ');
    // Secrets are replaced in the raw text too (the JSON form redacts the escaped text).
    return this.redact(stack ? `${line}\n${text(stack)}` : line, false);
  }

  private redact(line: string, jsonEncoded = true): string {
    let out = line;
    for (const secret of this.secrets) {
      const encoded = jsonEncoded ? JSON.stringify(secret).slice(1, -1) : secret;
      out = out.split(encoded).join(REDACTED);
    }
    return out.replace(/(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi, `$1 ${REDACTED}`);
  }
}
