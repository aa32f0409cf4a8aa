import { startApp, stopProcess, type TestApp } from '../app';
import { bearer, loginAdmin, type TestUser } from '../factories';
import { createTx } from '../transactions';
import { sleep } from '../waits';
import { WebhookReceiver } from '../webhook-receiver';

jest.setTimeout(180_000);

const ENV = {
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_TIMEOUT_MS: '2000',
  WEBHOOK_RETRY_BASE_MS: '200',
  WEBHOOK_RETRY_MAX_MS: '800',
  WEBHOOK_DISPATCH_INTERVAL_MS: '50',
  JOBS_MAINTENANCE_INTERVAL: '1s',
};

describe('webhooks: at least once across crashes, never twice at once across instances', () => {
  const receiver = new WebhookReceiver();
  let first: TestApp;
  let admin: TestUser;
  const others: TestApp[] = [];
  let survivor: TestApp;

  beforeAll(async () => {
    await receiver.start();
    first = await startApp(ENV);
    admin = await loginAdmin(first);
  });
  afterAll(async () => {
    for (const app of others) await app.stop();
    await first?.stop();
    await receiver.stop();
  });

  async function register(app: TestApp, path: string) {
    const res = await app
      .http()
      .post('/api/v1/webhooks')
      .set(bearer(admin))
      .send({ url: `${receiver.url}${path}`, events: ['transaction.created'] })
      .expect(201);
    receiver.secrets.set(path, res.body.secret as string);
    return res.body as { id: string };
  }

  it('delivers again after the instance is killed (kill -9) mid-delivery', async () => {
    // Only the victim may deliver: the first instance is stopped (its database stays).
    expect(await stopProcess(first.child)).toBe(0);
    const victim = await startApp(ENV, { databaseUrl: first.databaseUrl });
    others.push(victim);
    let killed = false;
    receiver.on('/crash', (_req, res, n) => {
      if (n === 1) {
        // Mid-delivery: the request arrived, the answer never will.
        victim.child.kill('SIGKILL');
        killed = true;
        return;
      }
      res.writeHead(200).end();
    });
    const hook = await register(victim, '/crash');
    await createTx(victim, admin, { category: 'Crash' });
    await receiver.waitFor(() => killed);
    if (victim.child.exitCode === null && victim.child.signalCode === null)
      await new Promise((resolve) => victim.child.once('exit', resolve));
    // A new instance finds the dead one's job expired and delivers it again.
    survivor = await startApp(ENV, { databaseUrl: first.databaseUrl });
    others.push(survivor);
    await receiver.waitFor(() => receiver.at('/crash').length >= 2, 60_000);
    const got = receiver.at('/crash');
    expect(got[0].id).toBe(got[1].id);
    expect(got.every((r) => r.verified)).toBe(true);
    await sleep(300);
    const log = (
      await survivor
        .http()
        .get(`/api/v1/webhooks/${hook.id}/deliveries`)
        .set(bearer(admin))
        .expect(200)
    ).body.data as { status: string; attempt: number }[];
    expect(log[0]).toMatchObject({ status: 'succeeded' });
    expect(log[0].attempt).toBeGreaterThanOrEqual(2);
  });

  it('two instances deliver every event, none twice at the same time', async () => {
    const one = survivor ?? first;
    const second = await startApp(ENV, { databaseUrl: first.databaseUrl });
    others.push(second);
    receiver.on('/pair', async (_req, res) => {
      await sleep(20);
      res.writeHead(204).end();
    });
    await register(one, '/pair');
    const n = 80;
    const created = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        createTx(i % 2 ? one : second, admin, { category: `Pair ${i}` }),
      ),
    );
    await receiver.waitFor(() => new Set(receiver.at('/pair').map((r) => r.id)).size >= n, 60_000);
    await sleep(500);
    const got = receiver.at('/pair');
    expect(new Set(got.map((r) => r.body.data.id))).toEqual(new Set(created.map((t) => t.id)));
    expect(receiver.maxInFlight.get('/pair')).toBe(1);
    expect(got.length).toBe(n);
    expect(got.every((r) => r.verified)).toBe(true);
  });

  it('SIGTERM lets an in-flight delivery finish before the instance exits', async () => {
    for (const app of others) await stopProcess(app.child);
    const last = await startApp(ENV, { databaseUrl: first.databaseUrl });
    others.push(last);
    let terminated: Promise<number | null> | undefined;
    receiver.on('/drain', async (_req, res) => {
      terminated = stopProcess(last.child);
      await sleep(1_000);
      res.writeHead(200).end();
    });
    const hook = await register(last, '/drain');
    await createTx(last, admin, { category: 'Drain' });
    await receiver.waitFor(() => terminated !== undefined);
    expect(await terminated).toBe(0);
    const rows = await last.sql.query(
      `SELECT status, attempt FROM webhook_deliveries WHERE webhook_id = $1`,
      [hook.id],
    );
    expect(rows.rows).toEqual([{ status: 'succeeded', attempt: 1 }]);
    expect(receiver.at('/drain')).toHaveLength(1);
  });
});
