import { AppConfig, ConfigError } from './app-config';

const base = { JWT_SECRET: 'x'.repeat(40), DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' };

describe('AppConfig: events, webhooks and jobs settings', () => {
  it('defaults to 30 days of events, https-only webhooks retried for 24 h', () => {
    const sut = AppConfig.fromEnv(base);
    expect(sut.eventRetention).toBe(30 * 86400);
    expect(sut.webhooks).toEqual({
      allowHttp: false,
      allowedHosts: [],
      timeoutMs: 10_000,
      retryBaseMs: 5_000,
      retryMaxMs: 7_200_000,
      retryWindowSeconds: 86_400,
      concurrency: 4,
      dispatchIntervalMs: 250,
    });
    expect(sut.jobs).toEqual({ maintenanceIntervalSeconds: 60, shutdownTimeoutMs: 15_000 });
  });

  it('reads durations, the allow-list (brackets and case dropped) and the http switch', () => {
    const sut = AppConfig.fromEnv({
      ...base,
      EVENT_RETENTION: '7d',
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_ALLOWED_HOSTS: ' Hooks.Internal , 127.0.0.1,[::1]',
      WEBHOOK_RETRY_WINDOW: '6s',
    });
    expect(sut.eventRetention).toBe(7 * 86400);
    expect(sut.webhooks.allowHttp).toBe(true);
    expect(sut.webhooks.allowedHosts).toEqual(['hooks.internal', '127.0.0.1', '::1']);
    expect(sut.webhooks.retryWindowSeconds).toBe(6);
  });

  it.each([
    ['EVENT_RETENTION', 'forever'],
    ['EVENT_RETENTION', '0'],
    ['WEBHOOK_ALLOW_HTTP', 'yes'],
    ['WEBHOOK_ALLOWED_HOSTS', 'good.host,bad host!'],
    ['WEBHOOK_TIMEOUT_MS', '5'],
    ['WEBHOOK_RETRY_WINDOW', '1w'],
    ['JOBS_SHUTDOWN_TIMEOUT_MS', '-1'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => AppConfig.fromEnv({ ...base, [name]: value })).toThrow(ConfigError);
    expect(() => AppConfig.fromEnv({ ...base, [name]: value })).toThrow(name);
  });
});
