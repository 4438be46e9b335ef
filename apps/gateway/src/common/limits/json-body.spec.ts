import { describeFailure } from '../errors/failure';
import { jsonDepth, limitJsonDepth, MAX_JSON_DEPTH, requireJsonBody } from './json-body';

describe('JSON depth limit', () => {
  it('measures depth without recursion, even for very deep values', () => {
    expect(jsonDepth('x')).toBe(0);
    expect(jsonDepth({ a: [1, { b: 2 }] })).toBe(3);
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(jsonDepth(deep)).toBe(200_000);
    expect(jsonDepth(deep, 10)).toBe(11);
  });

  it('passes bodies at the limit and refuses deeper ones as a 400 body error', () => {
    let ok: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) ok = [ok];
    const next = jest.fn();
    limitJsonDepth({ body: ok } as never, {} as never, next);
    expect(next).toHaveBeenCalledWith();
    limitJsonDepth({ body: [ok] } as never, {} as never, next);
    expect(next).toHaveBeenLastCalledWith(expect.objectContaining({ status: 400, type: 'entity.too.deep' }));
  });
});

describe('JSON bodies only', () => {
  const run = (headers: Record<string, string>) => {
    const next = jest.fn();
    requireJsonBody({ headers } as never, {} as never, next);
    return next.mock.calls[0][0] as unknown;
  };

  it('passes JSON bodies (any parameters, any case) and requests without a body', () => {
    expect(run({ 'content-type': 'application/json', 'content-length': '2' })).toBeUndefined();
    expect(run({ 'content-type': 'Application/JSON; charset=utf-8', 'transfer-encoding': 'chunked' })).toBeUndefined();
    expect(run({})).toBeUndefined();
    expect(run({ 'content-length': '0', 'content-type': 'text/plain' })).toBeUndefined();
  });

  it('refuses any other body with 415, naming what to send', () => {
    for (const headers of [
      { 'content-type': 'text/plain', 'content-length': '5' },
      { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '9' },
      { 'content-length': '2' },
      { 'content-type': 'application/merge-patch+json', 'transfer-encoding': 'chunked' },
    ] as Array<Record<string, string>>) {
      const error = run(headers);
      expect({ headers, error }).toEqual({ headers, error: expect.objectContaining({ status: 415 }) });
      expect(describeFailure(error)).toMatchObject({
        status: 415,
        message: expect.stringContaining('application/json'),
      });
    }
  });
});
