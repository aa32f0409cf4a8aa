import { OrderedIds } from './ordered-ids';

describe('OrderedIds', () => {
  const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('gives version 7 UUIDs that start with the current time', () => {
    const before = Date.now();
    const id = new OrderedIds().next();
    expect(id).toMatch(UUID_V7);
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });

  it('gives ids in strictly ascending order, as PostgreSQL compares uuids (bytewise)', () => {
    const sut = new OrderedIds();
    const ids = Array.from({ length: 5000 }, () => sut.next());
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries the counter from its low part into its high part', () => {
    const sut = new OrderedIds();
    (sut as unknown as { counter: number }).counter = 2 ** 30 - 2;
    const ids = [sut.next(), sut.next(), sut.next()];
    expect([...ids].sort()).toEqual(ids);
    expect(ids[2].slice(15, 18)).toBe('001');
  });

  it('gives two imports different ids', () => {
    const a = new OrderedIds().next();
    const b = new OrderedIds().next();
    expect(a).not.toBe(b);
  });
});
