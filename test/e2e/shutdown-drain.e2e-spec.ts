import { startApp, type TestApp } from '../app';
import { bearer, loginAdmin } from '../factories';
import { readUntil } from '../waits';

/**
 * SHUTDOWN_DRAIN_MS: behind a load balancer that health-checks /health/ready, an instance told
 * to stop first only reports "not ready" and keeps answering, so requests the balancer still
 * routes to it during its check interval are served rather than refused.
 */
// Long enough that the checks below finish inside the drain even on a loaded CI machine (at
// 1.5 s a slow first answer once let the port close before the last request: ECONNREFUSED).
const DRAIN_MS = 4000;

describe('shutdown drain (SHUTDOWN_DRAIN_MS)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ SHUTDOWN_DRAIN_MS: String(DRAIN_MS) });
  });
  afterAll(() => app.stop());

  it('answers 503 on /health/ready but keeps serving requests until the drain ends, then exits with 0', async () => {
    const admin = await loginAdmin(app);
    const exited = new Promise<number | null>((resolve) => app.child.once('exit', resolve));
    const signalled = Date.now();
    app.child.kill('SIGTERM');
    const ready = await readUntil(
      async () => (await fetch(`${app.url}/health/ready`)).status,
      (status) => status !== 200,
      { ms: DRAIN_MS / 2 - (Date.now() - signalled), every: 0 },
    );
    expect(ready).toBe(503);
    await app.http().get('/api/v1/transactions').set(bearer(admin)).expect(200);
    expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(DRAIN_MS);
  }, 30_000);
});
