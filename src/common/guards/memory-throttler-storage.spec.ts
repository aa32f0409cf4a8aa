import { MemoryThrottlerStorage } from './memory-throttler-storage';

describe('MemoryThrottlerStorage', () => {
  let now: number;
  let storage: MemoryThrottlerStorage;
  beforeEach(() => {
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => {
    storage?.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  // ttl 60 s, limit 3, block 30 s
  const hit = (key = 'user:a') => storage.increment(key, 60_000, 3, 30_000, 'default');

  it('blocks the request after the limit, with seconds to wait, until the block ends', async () => {
    storage = new MemoryThrottlerStorage();
    for (let i = 1; i <= 3; i++) {
      expect(await hit()).toMatchObject({ totalHits: i, isBlocked: false, timeToBlockExpire: 0 });
    }
    expect(await hit()).toEqual({
      totalHits: 4,
      timeToExpire: 60,
      isBlocked: true,
      timeToBlockExpire: 30,
    });
    now += 29_500;
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    // The block is over but the window is still full: blocked again at once, as in Redis.
    now += 1_000;
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
  });

  it('starts a new window once the old one and any block have expired', async () => {
    storage = new MemoryThrottlerStorage();
    for (let i = 0; i < 4; i++) await hit();
    now += 60_000;
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60 });
  });

  it('counts each key on its own', async () => {
    storage = new MemoryThrottlerStorage();
    for (let i = 0; i < 4; i++) await hit('user:a');
    expect(await hit('user:b')).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('keeps at most maxWindows keys: expired ones go first, then the oldest', async () => {
    storage = new MemoryThrottlerStorage(3);
    await hit('old');
    now += 61_000; // `old` has expired
    await hit('a');
    await hit('b');
    await hit('c'); // room made by dropping `old` only
    expect(await hit('a')).toMatchObject({ totalHits: 2 });
    await hit('d'); // nothing expired: the oldest window (`a`) goes
    expect(await hit('b')).toMatchObject({ totalHits: 2 });
    expect(await hit('a')).toMatchObject({ totalHits: 1 });
  });

  it('counts 100,000 hits in one window under a high limit', async () => {
    storage = new MemoryThrottlerStorage();
    for (let i = 0; i < 100_000; i++) await storage.increment('k', 60_000, 1e9, 60_000, 'default');
    expect(await storage.increment('k', 60_000, 1e9, 60_000, 'default')).toMatchObject({
      totalHits: 100_001,
      isBlocked: false,
    });
  });
});
