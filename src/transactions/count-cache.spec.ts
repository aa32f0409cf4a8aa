import { advance, CountCache } from './count-cache';

describe('advance', () => {
  const entry = { snapshot: '10:12:11', total: 42 };

  it('adds the delta and moves the entry to the newer snapshot', () => {
    expect(advance(entry, { snapshot: '15:15:', usable: true, delta: 3 })).toEqual({
      snapshot: '15:15:',
      total: 45,
    });
    expect(advance(entry, { snapshot: '15:15:', usable: true, delta: -42 })).toEqual({
      snapshot: '15:15:',
      total: 0,
    });
  });

  it('keeps the total when nothing matching changed', () => {
    expect(advance(entry, { snapshot: '20:20:', usable: true, delta: 0 })?.total).toBe(42);
  });

  it('asks for a recount when the log cannot tell (a reset or a prune fell in between)', () => {
    expect(advance(entry, { snapshot: '20:20:', usable: false, delta: 0 })).toBeUndefined();
  });

  it('never trusts a delta that would make the total negative', () => {
    expect(advance(entry, { snapshot: '20:20:', usable: true, delta: -43 })).toBeUndefined();
  });
});

describe('CountCache', () => {
  it('remembers the latest entry per filter', () => {
    const sut = new CountCache();
    sut.remember('k', { snapshot: '1:1:', total: 1 });
    sut.remember('k', { snapshot: '2:2:', total: 5 });
    expect(sut.get('k')).toEqual({ snapshot: '2:2:', total: 5 });
    expect(sut.get('other')).toBeUndefined();
  });

  it('evicts the least recently used entry past its capacity, where a remember counts as a use', () => {
    const sut = new CountCache(2);
    sut.remember('a', { snapshot: '1:1:', total: 1 });
    sut.remember('b', { snapshot: '1:1:', total: 2 });
    sut.remember('a', { snapshot: '2:2:', total: 1 }); // a is now the most recently used
    sut.remember('c', { snapshot: '1:1:', total: 3 });
    expect(sut.get('b')).toBeUndefined();
    expect(sut.get('a')?.total).toBe(1);
    expect(sut.get('c')?.total).toBe(3);
  });
});
