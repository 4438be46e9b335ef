import { jsonDepth, limitJsonDepth, MAX_JSON_DEPTH } from './json-depth';

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
