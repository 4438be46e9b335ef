import { BoundedMap } from './bounded-map';

describe('BoundedMap', () => {
  it('drops the least recently remembered entries beyond its limit', () => {
    const map = new BoundedMap<string, number>(2);
    map.remember('a', 1).remember('b', 2).remember('a', 3).remember('c', 4);
    expect([...map.entries()]).toEqual([
      ['a', 3],
      ['c', 4],
    ]);
  });
});
