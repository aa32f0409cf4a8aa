import { CountCache } from './count-cache';

describe('CountCache', () => {
  it('answers a total only while the version it was counted at is current', () => {
    const sut = new CountCache();
    sut.remember('q=coffee', { version: '7', total: 42 });
    expect(sut.current('q=coffee', '7')).toBe(42);
    expect(sut.current('q=coffee', '8')).toBeUndefined();
    expect(sut.current('q=tea', '7')).toBeUndefined();
  });

  it('replaces an entry when it is counted again at a newer version', () => {
    const sut = new CountCache();
    sut.remember('k', { version: '1', total: 1 });
    sut.remember('k', { version: '2', total: 5 });
    expect(sut.current('k', '1')).toBeUndefined();
    expect(sut.current('k', '2')).toBe(5);
  });

  it('evicts the least recently used entry past its capacity, where a hit counts as a use', () => {
    const sut = new CountCache(2);
    sut.remember('a', { version: '1', total: 1 });
    sut.remember('b', { version: '1', total: 2 });
    expect(sut.current('a', '1')).toBe(1); // a is now the most recently used
    sut.remember('c', { version: '1', total: 3 });
    expect(sut.current('b', '1')).toBeUndefined();
    expect(sut.current('a', '1')).toBe(1);
    expect(sut.current('c', '1')).toBe(3);
  });
});
