import { APPROVAL_DECISIONS, type ApprovalDecision, type ApprovalPolicy, type SandboxMode } from '@app/codex-transport';
import type { AgentDecision, ClientFrame, ConfigOverrides, UserMessageFrame } from './agent-frames';

export const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const POLICIES = ['untrusted', 'on-request', 'never', 'suggest', 'auto-edit', 'full-auto'];
const SANDBOXES = ['read-only', 'workspace-write', 'danger-full-access'];
const DECISIONS = ['allow', 'deny', ...APPROVAL_DECISIONS];
const MAX_CONTENT = 200_000;

export class FrameError extends Error {
  constructor(
    readonly code: 'unknown_frame' | 'invalid_frame',
    message: string,
  ) {
    super(message);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalString(frame: Record<string, unknown>, field: string, max = 1000): string | undefined {
  const value = frame[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max)
    throw new FrameError('invalid_frame', `${field} must be a string of at most ${max} characters`);
  return value;
}

function sessionId(frame: Record<string, unknown>, required: boolean): string | undefined {
  const value = frame.sessionId;
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || !SESSION_ID.test(value)) {
    throw new FrameError('invalid_frame', 'sessionId must be 1-128 characters of [A-Za-z0-9._:-]');
  }
  return value;
}

/** The fields of each client frame: any other is refused, not dropped (a typo would otherwise do nothing). */
const FRAME_FIELDS: Record<ClientFrame['type'], string[]> = {
  user_message: ['type', 'id', 'sessionId', 'content', 'imagePaths', 'configOverrides'],
  approve: ['type', 'id', 'sessionId', 'commandId', 'decision', 'explanation'],
  cancel: ['type', 'id', 'sessionId'],
  ping: ['type', 'id'],
};
const OVERRIDE_FIELDS = ['model', 'approvalPolicy', 'sandbox', 'cwd'];

function onlyKnownFields(value: Record<string, unknown>, fields: string[], what: string, prefix = ''): void {
  const unknown = Object.keys(value).find((field) => !fields.includes(field));
  if (unknown !== undefined) {
    throw new FrameError(
      'invalid_frame',
      `${prefix}${unknown} is not a field of ${what} (its fields: ${fields.join(', ')})`,
    );
  }
}

function overrides(value: unknown): ConfigOverrides | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new FrameError('invalid_frame', 'configOverrides must be an object');
  onlyKnownFields(value, OVERRIDE_FIELDS, 'configOverrides', 'configOverrides.');
  const out: ConfigOverrides = {};
  const model = optionalString(value, 'model', 200);
  if (model) out.model = model;
  if (value.approvalPolicy !== undefined) {
    if (!POLICIES.includes(value.approvalPolicy as string)) {
      throw new FrameError('invalid_frame', `configOverrides.approvalPolicy must be one of ${POLICIES.join(', ')}`);
    }
    out.approvalPolicy = value.approvalPolicy as ConfigOverrides['approvalPolicy'];
  }
  if (value.sandbox !== undefined) {
    if (!SANDBOXES.includes(value.sandbox as string)) {
      throw new FrameError('invalid_frame', `configOverrides.sandbox must be one of ${SANDBOXES.join(', ')}`);
    }
    out.sandbox = value.sandbox as SandboxMode;
  }
  const cwd = optionalString(value, 'cwd', 4096);
  if (cwd) out.cwd = cwd;
  return out;
}

/** Checks a decoded JSON value against the client frame shapes. */
export function parseClientFrame(value: unknown): ClientFrame {
  if (!isRecord(value)) throw new FrameError('invalid_frame', 'a frame must be a JSON object');
  const id = value.id;
  if (id !== undefined && typeof id !== 'string' && typeof id !== 'number')
    throw new FrameError('invalid_frame', 'id must be a string or a number');
  const frameId = id === undefined ? undefined : String(id);
  const fields = Object.hasOwn(FRAME_FIELDS, value.type as string)
    ? FRAME_FIELDS[value.type as ClientFrame['type']]
    : null;
  if (fields) onlyKnownFields(value, fields, `a ${value.type as string} frame`);
  switch (value.type) {
    case 'user_message': {
      if (typeof value.content !== 'string' || value.content.trim() === '' || value.content.length > MAX_CONTENT) {
        throw new FrameError(
          'invalid_frame',
          `content must be a non-empty string of at most ${MAX_CONTENT} characters`,
        );
      }
      const imagePaths = value.imagePaths;
      if (
        imagePaths !== undefined &&
        (!Array.isArray(imagePaths) || imagePaths.length > 16 || imagePaths.some((p) => typeof p !== 'string'))
      ) {
        throw new FrameError('invalid_frame', 'imagePaths must be an array of at most 16 paths');
      }
      const frame: UserMessageFrame = { type: 'user_message', id: frameId, content: value.content };
      const sid = sessionId(value, false);
      if (sid) frame.sessionId = sid;
      if (imagePaths) frame.imagePaths = imagePaths as string[];
      const o = overrides(value.configOverrides);
      if (o) frame.configOverrides = o;
      return frame;
    }
    case 'approve': {
      const commandId = optionalString(value, 'commandId', 200);
      if (!commandId) throw new FrameError('invalid_frame', 'commandId is required');
      if (!DECISIONS.includes(value.decision as string))
        throw new FrameError('invalid_frame', `decision must be one of ${DECISIONS.join(', ')}`);
      return {
        type: 'approve',
        id: frameId,
        sessionId: sessionId(value, true)!,
        commandId,
        decision: value.decision as AgentDecision,
        explanation: optionalString(value, 'explanation', 4000),
      };
    }
    case 'cancel':
      return { type: 'cancel', id: frameId, sessionId: sessionId(value, true)! };
    case 'ping':
      return { type: 'ping', id: frameId };
    default:
      throw new FrameError(
        'unknown_frame',
        `unknown frame type ${JSON.stringify(value.type ?? null)}; expected user_message, approve, cancel or ping`,
      );
  }
}

/** `allow`/`deny` are the original project's words for codex's `accept`/`decline`. */
export function codexDecision(decision: AgentDecision): ApprovalDecision {
  if (decision === 'allow') return 'accept';
  if (decision === 'deny') return 'decline';
  return decision;
}

/** The original project's policies: `suggest` = untrusted; `auto-edit` = on-request + workspace-write; `full-auto` = never + workspace-write. */
export function codexPolicy(o: ConfigOverrides | undefined): {
  approvalPolicy?: ApprovalPolicy;
  sandbox?: SandboxMode;
} {
  switch (o?.approvalPolicy) {
    case 'suggest':
      return { approvalPolicy: 'untrusted', sandbox: o.sandbox };
    case 'auto-edit':
      return { approvalPolicy: 'on-request', sandbox: o.sandbox ?? 'workspace-write' };
    case 'full-auto':
      return { approvalPolicy: 'never', sandbox: o.sandbox ?? 'workspace-write' };
    default:
      return { approvalPolicy: o?.approvalPolicy, sandbox: o?.sandbox };
  }
}

/** Splits a shell command line into words (single and double quotes, backslash escapes). */
export function commandWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) current += line[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (started || current) words.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started || current) words.push(current);
  return words;
}
