/** A Map that keeps at most `limit` entries, dropping the least recently remembered first. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  /** Sets `key` as the most recent entry, then drops the oldest beyond the limit. */
  remember(key: K, value: V): this {
    this.delete(key);
    this.set(key, value);
    while (this.size > this.limit) this.delete(this.keys().next().value as K);
    return this;
  }
}
