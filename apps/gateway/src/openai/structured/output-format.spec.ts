import { GatewayError } from '../../common/errors/gateway-error';
import { effectiveInstructions, forcedCall, parseOutputFormat, strictSchema } from './output-format';

describe('structured output formats', () => {
  const person = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      nick: { type: 'string' },
      tags: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } } },
    },
    required: ['name'],
  };

  it('makes a schema strict: every property required, optional ones nullable, no others, nested too', () => {
    expect(strictSchema(person)).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string' },
        nick: { type: ['string', 'null'] },
        tags: {
          type: ['array', 'null'],
          items: {
            type: 'object',
            properties: { k: { type: ['string', 'null'] } },
            required: ['k'],
            additionalProperties: false,
          },
        },
      },
      required: ['name', 'nick', 'tags'],
      additionalProperties: false,
    });
  });

  it("checks the answer against the client's schema and drops the nulls of optional fields", () => {
    const format = parseOutputFormat(
      { type: 'json_schema', json_schema: { name: 'p', schema: person } },
      'response_format',
    )!;
    expect(format.check('{"name":"Ann","nick":null,"tags":null}')).toEqual({ ok: true, text: '{"name":"Ann"}' });
    // The model's own text when nothing was dropped.
    expect(format.check('{ "name": "Ann" }')).toEqual({ ok: true, text: '{ "name": "Ann" }' });
    expect(format.check('{"nick":"x"}')).toEqual({
      ok: false,
      message: expect.stringMatching(/must have required property 'name'/),
    });
    expect(format.check('not json')).toEqual({ ok: false, message: 'the model did not answer with JSON' });
  });

  it('json_object: any JSON object, asked for by an instruction; text: no format', () => {
    const format = parseOutputFormat({ type: 'json_object' }, 'text')!;
    expect(format.codexSchema).toBeNull();
    expect(format.check('{"a":1}')).toEqual({ ok: true, text: '{"a":1}' });
    expect(format.check('[1]').ok).toBe(false);
    expect(parseOutputFormat({ type: 'text' }, 'text')).toBeNull();
    expect(effectiveInstructions('Be brief.', 'json_object')).toMatch(/^Be brief\.\n\nAnswer with one JSON object/);
    expect(effectiveInstructions(null, 'json_schema')).toBeUndefined();
  });

  it('refuses what it cannot apply', () => {
    const refused = (raw: unknown) => {
      try {
        parseOutputFormat(raw, 'text');
      } catch (error) {
        return (error as GatewayError).message;
      }
      return null;
    };
    expect(refused({ type: 'xml' })).toMatch(/must be "text", "json_object" or "json_schema"/);
    expect(refused({ type: 'json_schema' })).toMatch(/needs a schema object/);
    expect(refused({ type: 'json_schema', schema: { type: 'nonsense' } })).toMatch(/not a valid JSON schema/);
    expect(refused({ type: 'json_schema', name: 'has space', schema: {} })).toMatch(/name must be/);
  });

  it('a forced function call is an answer in its parameters, or in {name, arguments} for required', () => {
    const tools = [
      { name: 'a', inputSchema: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } },
      { name: 'b', inputSchema: { type: 'object', properties: {} } },
    ];
    const named = forcedCall(tools, { name: 'a' });
    expect(named.format.codexSchema).toMatchObject({ required: ['x'], additionalProperties: false });
    expect(named.call('{"x":1}')).toEqual({ name: 'a', arguments: '{"x":1}' });
    const required = forcedCall(tools, 'required');
    expect(required.format.check('{"name":"b","arguments":{}}').ok).toBe(true);
    expect(required.call('{"name":"b","arguments":{}}')).toEqual({ name: 'b', arguments: '{}' });
  });
});
