/**
 * The app-server protocol schema of a codex binary, and how it differs from the committed snapshot.
 * `npm run codex:drift` and the protocol drift test share these, so a codex bump shows one list of
 * differences in both places.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The committed schema: codex's bundle (`codex_app_server_protocol.schemas.json`) with the version it came from. */
export const SNAPSHOT_PATH = resolve(__dirname, '..', 'libs', 'codex-transport', 'schema', 'app-server-protocol.json');

export interface ProtocolSchema {
  /** `codex --version` of the binary that printed it. */
  'x-codex-version': string;
  definitions: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Runs `codex app-server generate-json-schema --experimental` (the experimental API included: dynamic
 * tools and other fields the gateway may use only appear there) and returns the bundle.
 */
export function generateProtocolSchema(binary: string): ProtocolSchema {
  const dir = mkdtempSync(join(tmpdir(), 'codex-schema-'));
  try {
    const home = join(dir, 'home');
    mkdirSync(home);
    const env = { PATH: process.env.PATH, HOME: home, CODEX_HOME: home };
    const version = execFileSync(binary, ['--version'], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    execFileSync(binary, ['app-server', 'generate-json-schema', '--experimental', '--out', join(dir, 'out')], {
      env,
      stdio: 'ignore',
    });
    const bundle = JSON.parse(readFileSync(join(dir, 'out', 'codex_app_server_protocol.schemas.json'), 'utf8')) as {
      definitions: Record<string, unknown>;
    };
    return { 'x-codex-version': version, ...bundle };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readSnapshot(): ProtocolSchema {
  return JSON.parse(readFileSync(SNAPSHOT_PATH, 'utf8')) as ProtocolSchema;
}

/** Every definition by a flat name (`v2/ThreadStartParams`; version 1 names have no prefix). */
function flatten(schema: ProtocolSchema): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, value] of Object.entries(schema.definitions)) {
    if (name === 'v2' && value && typeof value === 'object') {
      for (const [inner, def] of Object.entries(value)) out.set(`v2/${inner}`, def);
    } else {
      out.set(name, value);
    }
  }
  return out;
}

/** Descriptions are documentation, not protocol: a change of wording alone is not drift. */
function shape(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => (key === 'description' ? undefined : v));
}

export interface SchemaDrift {
  from: string;
  to: string;
  added: string[];
  removed: string[];
  changed: string[];
}

/** The definitions added, removed and changed (ignoring descriptions) from `before` to `after`. */
export function diffProtocolSchemas(before: ProtocolSchema, after: ProtocolSchema): SchemaDrift {
  const a = flatten(before);
  const b = flatten(after);
  const drift: SchemaDrift = {
    from: before['x-codex-version'],
    to: after['x-codex-version'],
    added: [],
    removed: [],
    changed: [],
  };
  for (const [name, def] of a) {
    if (!b.has(name)) drift.removed.push(name);
    else if (shape(def) !== shape(b.get(name))) drift.changed.push(name);
  }
  for (const name of b.keys()) if (!a.has(name)) drift.added.push(name);
  for (const list of [drift.added, drift.removed, drift.changed]) list.sort();
  return drift;
}

export function hasDrift(drift: SchemaDrift): boolean {
  return drift.added.length + drift.removed.length + drift.changed.length > 0;
}

export function describeDrift(drift: SchemaDrift): string {
  const lines = [`codex app-server protocol: snapshot ${drift.from} → installed ${drift.to}`];
  for (const [sign, list] of [
    ['+', drift.added],
    ['-', drift.removed],
    ['~', drift.changed],
  ] as const) {
    for (const name of list) lines.push(`  ${sign} ${name}`);
  }
  if (!hasDrift(drift)) lines.push('  no difference');
  return lines.join('\n');
}
