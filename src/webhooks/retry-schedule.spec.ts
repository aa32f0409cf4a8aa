import { retryDelayMs } from './retry-schedule';

describe('retryDelayMs', () => {
  it('doubles from the base, with the jitter within the upper half of each step', () => {
    const low = [1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 1e9, () => 0));
    const high = [1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 1e9, () => 1));
    expect(low).toEqual([500, 1000, 2000, 4000]);
    expect(high).toEqual([1000, 2000, 4000, 8000]);
  });

  it('never exceeds the cap, however many attempts', () => {
    for (const n of [10, 50, 1000])
      expect(retryDelayMs(n, 5000, 7_200_000)).toBeLessThanOrEqual(7_200_000);
  });
});
