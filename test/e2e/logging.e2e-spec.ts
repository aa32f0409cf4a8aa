import { startApp, type TestApp } from '../app';
import { bearer, loginAdmin, type TestUser } from '../factories';
import { sleep } from '../waits';

jest.setTimeout(60_000);

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  method?: string;
  url?: string;
  statusCode?: number;
  responseTime?: number;
}

/** The JSON lines the app has written so far (startup output that is not JSON is skipped). */
function lines(app: TestApp): Line[] {
  return app
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

const settle = () => sleep(200);

describe('request logging at info (what users run)', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp({ LOG_LEVEL: 'info' });
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  it('writes one short line per request, with its id, method, path and status', async () => {
    await app
      .http()
      .get('/api/v1/transactions?limit=1')
      .set(bearer(admin))
      .set('X-Request-Id', 'log-probe-1')
      .expect(200);
    await app.http().get('/api/v1/users').set('X-Request-Id', 'log-probe-2').expect(401);
    await settle();
    const mine = lines(app).filter((l) => l.reqId?.startsWith('log-probe-'));
    expect(mine).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'request completed',
        reqId: 'log-probe-1',
        method: 'GET',
        url: '/api/v1/transactions?limit=1',
        statusCode: 200,
        responseTime: expect.any(Number),
      }),
      expect.objectContaining({ reqId: 'log-probe-2', url: '/api/v1/users', statusCode: 401 }),
    ]);
  });

  it('never logs the bearer token, and skips health checks', async () => {
    await app.http().get('/health/live').set('X-Request-Id', 'log-probe-health').expect(200);
    await app.http().get('/api/v1/auth/me').set(bearer(admin)).expect(200);
    await settle();
    const logs = app.logs();
    expect(logs).toContain('/api/v1/auth/me');
    expect(logs).not.toContain('log-probe-health');
    expect(logs).not.toContain(admin.token.split('.')[2]);
  });
});
