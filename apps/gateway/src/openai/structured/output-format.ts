import Ajv, { type ValidateFunction } from 'ajv';
import { invalidRequest } from '../../common/errors/gateway-error';

type Schema = Record<string, unknown>;

/**
 * A structured-output request: what codex is told (`outputSchema`, always strict mode), and how its final
 * answer is checked against what the client asked for and given back in the client's terms.
 */
export interface OutputFormat {
  type: 'json_schema' | 'json_object';
  /** The format as the client sent it (the Responses object echoes it). */
  requested: Record<string, unknown>;
  /** For codex: the client's schema made strict-compatible; null for `json_object` (codex has no such mode). */
  codexSchema: Schema | null;
  /** For `json_object`: the instruction that asks for it (codex cannot enforce it; the answer is checked). */
  instruction: string | null;
  /** The final answer in the client's terms, or why it does not match. */
  check(text: string): { ok: true; text: string } | { ok: false; message: string };
}

const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });

const JSON_OBJECT_INSTRUCTION =
  'Answer with one JSON object and nothing else: no prose, no code fence. The client parses your answer as JSON.';

/** The instructions a response runs with: the client's, and what its format asks of the model (json_object). */
export function effectiveInstructions(
  instructions: string | null | undefined,
  formatType: unknown,
): string | undefined {
  const parts = [instructions, formatType === 'json_object' ? JSON_OBJECT_INSTRUCTION : null].filter(Boolean);
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

/**
 * A format object (`{type: "text" | "json_object" | "json_schema", …}`) → the output format; null for text.
 * `param` names the request field in errors; the schema sits at `format.schema` (Responses `text.format`)
 * or `format.json_schema.schema` (Chat `response_format`).
 */
export function parseOutputFormat(raw: unknown, param: string): OutputFormat | null {
  if (raw === undefined || raw === null) return null;
  const format = raw as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidRequest(`${param} must be an object`, param);
  switch (format.type) {
    case 'text':
      return null;
    case 'json_object':
      return {
        type: 'json_object',
        requested: format,
        codexSchema: null,
        instruction: JSON_OBJECT_INSTRUCTION,
        check: (text) => {
          const value = parseJson(text);
          return value.ok && isObject(value.value)
            ? { ok: true, text }
            : { ok: false, message: 'the model did not answer with a JSON object' };
        },
      };
    case 'json_schema': {
      const holder = (format.json_schema ?? format) as Record<string, unknown>;
      const schema = holder.schema;
      if (!isObject(schema)) throw invalidRequest(`${param} json_schema needs a schema object`, param);
      if (
        holder.name !== undefined &&
        (typeof holder.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(holder.name))
      ) {
        throw invalidRequest(`${param} name must be 1 to 64 letters, digits, _ or -`, param);
      }
      let validate: ValidateFunction;
      try {
        // Checked by its keywords whatever draft it names (zod and others write 2020-12, ajv's default is draft-07).
        const { $schema: _draft, ...keywords } = schema;
        validate = ajv.compile(keywords);
      } catch (error) {
        throw invalidRequest(`${param} schema is not a valid JSON schema: ${(error as Error).message}`, param);
      }
      return {
        type: 'json_schema',
        requested: format,
        codexSchema: strictSchema(schema),
        instruction: null,
        check: (text) => {
          const value = parseJson(text);
          if (!value.ok) return { ok: false, message: 'the model did not answer with JSON' };
          const answer = withoutOptionalNulls(value.value, schema, schema);
          if (!validate(answer)) {
            const first = validate.errors?.[0];
            const where = first?.instancePath || '(root)';
            return { ok: false, message: `the model's answer does not match the schema: ${where} ${first?.message}` };
          }
          // The model's own text when nothing was dropped from it.
          const same = JSON.stringify(answer) === JSON.stringify(value.value);
          return { ok: true, text: same ? text : JSON.stringify(answer) };
        },
      };
    }
    default:
      throw invalidRequest(`${param}.type must be "text", "json_object" or "json_schema"`, param);
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schema as strict mode takes it (codex always sends `strict: true`): every object lists all its
 * properties as required and allows no others; a property that was optional becomes nullable, so the
 * model can still leave it out by answering null (dropped again by {@link withoutOptionalNulls}).
 */
export function strictSchema(schema: Schema): Schema {
  const out: Schema = { ...schema };
  for (const key of ['$defs', 'definitions']) {
    if (isObject(schema[key])) {
      out[key] = Object.fromEntries(Object.entries(schema[key]).map(([k, v]) => [k, strictSub(v)]));
    }
  }
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    if (Array.isArray(schema[key])) out[key] = (schema[key] as unknown[]).map(strictSub);
  }
  if (isObject(schema.items)) out.items = strictSchema(schema.items);
  if (isObject(schema.properties)) {
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const properties = Object.entries(schema.properties).map(([name, sub]) => {
      const strict = strictSub(sub);
      return [name, required.has(name) ? strict : nullable(strict)] as const;
    });
    out.properties = Object.fromEntries(properties);
    out.required = properties.map(([name]) => name);
    out.additionalProperties = false;
  } else if (schema.type === 'object') {
    out.properties = {};
    out.required = [];
    out.additionalProperties = false;
  }
  return out;
}

const strictSub = (value: unknown): unknown => (isObject(value) ? strictSchema(value) : value);

function nullable(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  if (typeof schema.type === 'string' && !schema.enum && !('const' in schema)) {
    return { ...schema, type: [schema.type, 'null'] };
  }
  return { anyOf: [schema, { type: 'null' }] };
}

/** The answer with the nulls of properties the client's schema has as optional left out. */
function withoutOptionalNulls(value: unknown, schema: unknown, root: Schema): unknown {
  if (!isObject(schema)) return value;
  const ref = typeof schema.$ref === 'string' ? schema.$ref : null;
  if (ref) {
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), root);
    return withoutOptionalNulls(value, target, root);
  }
  if (Array.isArray(value)) return value.map((v) => withoutOptionalNulls(v, schema.items, root));
  if (!isObject(value) || !isObject(schema.properties)) return value;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const properties = schema.properties;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null && !required.has(key)) continue;
    out[key] = withoutOptionalNulls(v, properties[key], root);
  }
  return out;
}

/** A function call the gateway makes the model answer with (a forced `tool_choice`): its name and arguments. */
export interface ForcedCall {
  format: OutputFormat;
  /** The call the checked answer stands for. */
  call(text: string): { name: string; arguments: string };
}

/**
 * codex cannot make its model call a function, but it can make it answer in a schema: a named function's
 * parameters, or for `required` one of `{name, arguments}` over every function. The answer is returned as
 * that function's call.
 */
export function forcedCall(
  tools: Array<{ name: string; inputSchema: Record<string, unknown> }>,
  choice: 'required' | { name: string },
): ForcedCall {
  if (choice !== 'required') {
    const tool = tools.find((t) => t.name === choice.name)!;
    const format = parseOutputFormat({ type: 'json_schema', name: tool.name, schema: tool.inputSchema }, 'tools')!;
    return { format, call: (text) => ({ name: tool.name, arguments: text }) };
  }
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', enum: tools.map((t) => t.name) },
      arguments: { anyOf: tools.map((t) => t.inputSchema) },
    },
    required: ['name', 'arguments'],
  };
  const format = parseOutputFormat({ type: 'json_schema', name: 'function_call', schema }, 'tools')!;
  return {
    format,
    call: (text) => {
      const answer = JSON.parse(text) as { name: string; arguments: unknown };
      return { name: answer.name, arguments: JSON.stringify(answer.arguments) };
    },
  };
}
