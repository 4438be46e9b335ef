/**
 * The prompt script: `[[name]]` or `[[name: argument]]` tokens inside the latest user message choose
 * what the offline provider answers. Everything else in the prompt is ordinary text.
 */
export interface Script {
  /** Exact reply text (`[[reply: ...]]`); otherwise a default reply that quotes the prompt. */
  reply: string | null;
  /** Number of text deltas the reply is split into. */
  deltas: number | null;
  /** Reply made of this many words (for size-controlled streams). */
  words: number | null;
  /** Milliseconds between deltas. */
  delayMs: number;
  reasoning: string | null;
  shell: string | null;
  status: number | null;
  cut: boolean;
  hang: boolean;
  /** Stream this many deltas of the reply, then nothing until the client goes away (a turn that never ends). */
  stall: number | null;
  memory: boolean;
  /** Reply with the instructions (developer/system messages not written by codex) the request carried. */
  echoInstructions: boolean;
  /** Calls of offered tools (`[[tool: NAME {json arguments}]]`, several make one response with several calls). */
  tools: ScriptedCall[];
  /** Answer with exactly this JSON (`[[json: {...}]]`); with a JSON schema format and no directive, a sample. */
  json: string | null;
  /** Each text delta is the moment it was sent instead (`~t<ms since the epoch, 3 decimals>~`): for timing what relays it. */
  stamp: boolean;
  /** Answer HTTP 400 `context_length_exceeded`, as OpenAI does for a conversation too long for the model. */
  tooLong: boolean;
  /** The prompt with every token removed. */
  text: string;
}

export interface ScriptedCall {
  name: string;
  /** The call's arguments as the model sends them: a JSON string (`{}` when none were given). */
  arguments: string;
}

/** `NAME {json}` → a call; the arguments are sent as written (a model can send invalid JSON too). */
function scriptedCall(arg: string | undefined): ScriptedCall | null {
  const match = /^([A-Za-z0-9_./-]+)\s*([\s\S]*)$/.exec(arg ?? '');
  if (!match) return null;
  return { name: match[1], arguments: match[2].trim() || '{}' };
}

const TOKEN = /\[\[\s*([a-z-]+)\s*(?::\s*([\s\S]*?))?\s*\]\]/gi;

export const SLOW_DEFAULTS = { deltas: 20, delayMs: 250 } as const;

function positiveInt(value: string | undefined, fallback: number | null): number | null {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function parseScript(prompt: string): Script {
  const script: Script = {
    reply: null,
    deltas: null,
    words: null,
    delayMs: 0,
    reasoning: null,
    shell: null,
    status: null,
    cut: false,
    hang: false,
    stall: null,
    memory: false,
    echoInstructions: false,
    tools: [],
    json: null,
    stamp: false,
    tooLong: false,
    text: prompt.replace(TOKEN, ' ').replace(/\s+/g, ' ').trim(),
  };
  for (const match of prompt.matchAll(TOKEN)) {
    const name = match[1].toLowerCase();
    const arg = match[2]?.trim();
    switch (name) {
      case 'reply':
        script.reply = arg ?? '';
        break;
      case 'deltas':
        script.deltas = positiveInt(arg, null);
        break;
      case 'words':
        script.words = positiveInt(arg, null);
        break;
      case 'delay':
        script.delayMs = positiveInt(arg, 0) ?? 0;
        break;
      case 'slow':
        script.delayMs = positiveInt(arg, SLOW_DEFAULTS.delayMs) ?? SLOW_DEFAULTS.delayMs;
        script.deltas ??= SLOW_DEFAULTS.deltas;
        break;
      case 'reasoning':
        script.reasoning = arg ?? 'Thinking it over.';
        break;
      case 'shell':
        script.shell = arg ?? 'echo hello';
        break;
      case 'status':
        script.status = positiveInt(arg, 500);
        break;
      case 'cut':
        script.cut = true;
        break;
      case 'hang':
        script.hang = true;
        break;
      case 'stall':
        script.stall = positiveInt(arg, 1);
        break;
      case 'memory':
        script.memory = true;
        break;
      case 'echo-instructions':
        script.echoInstructions = true;
        break;
      case 'tool': {
        const call = scriptedCall(arg);
        if (call) script.tools.push(call);
        break;
      }
      case 'stamp':
        script.stamp = true;
        break;
      case 'too-long':
        script.tooLong = true;
        break;
      case 'json':
        script.json = arg ?? '{}';
        break;
      default:
        break;
    }
  }
  return script;
}

/** Splits text into `parts` nearly equal pieces (at least one; never an empty piece). */
export function splitText(text: string, parts: number): string[] {
  if (text.length === 0) return [];
  const n = Math.max(1, Math.min(parts, text.length));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(text.slice(Math.floor((i * text.length) / n), Math.floor(((i + 1) * text.length) / n)));
  }
  return out;
}

/** A reply of exactly `count` words, deterministic. */
export function wordsReply(count: number): string {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  return Array.from({ length: count }, (_, i) => words[i % words.length]).join(' ');
}

/** A `[[stamp]]` delta's text: `~t<ms since the epoch>~`, to the microsecond, in a clock every process of the machine shares. */
export function stampNow(): string {
  return `~t${(performance.timeOrigin + performance.now()).toFixed(3)}~`;
}

const STAMP = /~t(\d+\.\d{3})~/g;

/** The moments (ms since the epoch) of the `[[stamp]]` deltas in a piece of text, in order. */
export function readStamps(text: string): number[] {
  return Array.from(text.matchAll(STAMP), (m) => Number(m[1]));
}
