import { DatabaseIncidents } from './database-incidents';

describe('DatabaseIncidents', () => {
  let now: number;
  let logger: { warn: jest.Mock; log: jest.Mock };
  let sut: DatabaseIncidents;

  beforeEach(() => {
    jest.useFakeTimers();
    now = 1_000_000;
    logger = { warn: jest.fn(), log: jest.fn() };
    sut = new DatabaseIncidents(logger, 5_000, () => now);
  });
  afterEach(() => jest.useRealTimers());

  const advance = (ms: number) => {
    now += ms;
    jest.advanceTimersByTime(ms);
  };

  it('logs one warning for an incident however many failures it has, and one line when it is over', () => {
    for (let i = 0; i < 500; i++) {
      sut.report(i % 2 ? 'requests' : 'job queue', 'Connection terminated unexpectedly');
      advance(20); // 10 s of failures
    }
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][0]).toMatch(
      /^database unavailable \(requests|job queue: Connection terminated unexpectedly\)/,
    );
    expect(sut.active).toBe(true);
    advance(4_979); // the last failure was 20 ms ago
    expect(logger.log).not.toHaveBeenCalled();
    advance(1);
    expect(sut.active).toBe(false);
    expect(logger.log).toHaveBeenCalledTimes(1);
    expect(logger.log.mock.calls[0][0]).toBe(
      'database available again: 500 failures (job queue, requests) over 10.0 s, none in the last 5 s',
    );
  });

  it('opens a new incident (a new warning) for a failure after a quiet period', () => {
    sut.report('requests', '57P01: terminating connection due to administrator command');
    advance(6_000);
    sut.report('requests', '25006: cannot execute INSERT in a read-only transaction');
    expect(logger.warn).toHaveBeenCalledTimes(2);
    expect(logger.warn.mock.calls[1][0]).toContain('25006');
    expect(logger.log).toHaveBeenCalledTimes(1);
  });
});
