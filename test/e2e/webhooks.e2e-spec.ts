import { startApp, type TestApp } from '../app';
import {
  bearer,
  createApiKey,
  createUser,
  deactivate,
  loginAdmin,
  type TestUser,
} from '../factories';
import { expectProblem } from '../problems';
import { createTx } from '../transactions';
import { readUntil, sleep } from '../waits';
import { WebhookReceiver } from '../webhook-receiver';

jest.setTimeout(120_000);

// Short timings so the retry schedule and the 24 h give-up fit in seconds.
export const WEBHOOK_TEST_ENV = {
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_TIMEOUT_MS: '2000',
  WEBHOOK_RETRY_BASE_MS: '200',
  WEBHOOK_RETRY_MAX_MS: '800',
  WEBHOOK_RETRY_WINDOW: '6s',
  WEBHOOK_DISPATCH_INTERVAL_MS: '50',
  JOBS_MAINTENANCE_INTERVAL: '1s',
};

interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: string | null;
}

describe('webhooks', () => {
  let app: TestApp;
  let admin: TestUser;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    app = await startApp(WEBHOOK_TEST_ENV);
    admin = await loginAdmin(app);
  });
  afterAll(async () => {
    await app?.stop();
    await receiver.stop();
  });

  const api = () => app.http();
  async function register(path: string, events: string[], url = `${receiver.url}${path}`) {
    const res = await api()
      .post('/api/v1/webhooks')
      .set(bearer(admin))
      .send({ url, events })
      .expect(201);
    receiver.secrets.set(path, res.body.secret as string);
    return res.body as { id: string; secret: string };
  }
  const deliveries = async (id: string): Promise<Delivery[]> =>
    (await api().get(`/api/v1/webhooks/${id}/deliveries?limit=100`).set(bearer(admin)).expect(200))
      .body.data as Delivery[];

  it('shows the whsec_ secret once, never again', async () => {
    const created = await register('/once', ['user.created']);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const got = await api().get(`/api/v1/webhooks/${created.id}`).set(bearer(admin)).expect(200);
    expect(got.body).not.toHaveProperty('secret');
    const list = await api().get('/api/v1/webhooks').set(bearer(admin)).expect(200);
    expect(JSON.stringify(list.body)).not.toContain(created.secret);
    const rotated = await api()
      .post(`/api/v1/webhooks/${created.id}/rotate-secret`)
      .set(bearer(admin))
      .expect(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    await api().delete(`/api/v1/webhooks/${created.id}`).set(bearer(admin)).expect(204);
    expectProblem(await api().get(`/api/v1/webhooks/${created.id}`).set(bearer(admin)), 404);
  });

  it('delivers each matching event, signed, with the body the feed shows', async () => {
    const hook = await register('/tx', ['transaction.created', 'transaction.updated']);
    const row = await createTx(app, admin, { category: 'Hooked' });
    await api()
      .patch(`/api/v1/transactions/${row.id}`)
      .set(bearer(admin))
      .send({ notes: 'changed' })
      .expect(200);
    await api().delete(`/api/v1/transactions/${row.id}`).set(bearer(admin)).expect(204); // not subscribed
    await receiver.waitFor(() => receiver.at('/tx').length >= 2);
    await sleep(300);
    // Deliveries run in parallel: their order is not guaranteed (occurredAt orders them).
    const got = receiver
      .at('/tx')
      .sort((a, b) => a.body.occurredAt.localeCompare(b.body.occurredAt));
    expect(got.map((r) => r.body.type)).toEqual(['transaction.created', 'transaction.updated']);
    expect(got.every((r) => r.verified)).toBe(true);
    expect(got[0].body.data).toEqual(row);
    expect(got[0].id).toBe(got[0].body.id);
    const feed = (
      await api()
        .get('/api/v1/events?types=transaction.created&limit=100')
        .set(bearer(admin))
        .expect(200)
    ).body.data as { id: string }[];
    expect(feed.map((e) => e.id)).toContain(got[0].id);
    const log = await deliveries(hook.id);
    expect(log.map((d) => d.status)).toEqual(['succeeded', 'succeeded']);
    expect(log[0]).toMatchObject({ attempt: 1, statusCode: 204, error: null });
  });

  it('retries failures with growing, jittered delays until one succeeds', async () => {
    receiver.on('/flaky', (_req, res, n) => void res.writeHead(n <= 3 ? 500 : 200).end('ok'));
    const hook = await register('/flaky', ['transaction.created']);
    await createTx(app, admin, { category: 'Flaky' });
    await receiver.waitFor(() => receiver.at('/flaky').length >= 4, 30_000);
    const times = receiver.at('/flaky').map((r) => r.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // base 200 ms doubling, each delay at least half its step: >= 100, 200, 400 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(100);
    expect(gaps[1]).toBeGreaterThanOrEqual(200);
    expect(gaps[2]).toBeGreaterThanOrEqual(400);
    expect(new Set(receiver.at('/flaky').map((r) => r.id)).size).toBe(1);
    expect(receiver.at('/flaky').every((r) => r.verified)).toBe(true);
    await sleep(300);
    const [d] = await deliveries(hook.id);
    expect(d).toMatchObject({
      status: 'succeeded',
      attempt: 4,
      statusCode: 200,
      nextAttemptAt: null,
    });
  });

  it('gives up after the retry window, disables an endpoint failing all along, and retries by hand', async () => {
    let healthy = false;
    receiver.on('/down', (_req, res) => void res.writeHead(healthy ? 200 : 503).end());
    const hook = await register('/down', ['transaction.created']);
    await createTx(app, admin, { category: 'Down' });
    await receiver.waitFor(() => receiver.at('/down').length >= 1);
    const retrying = await readUntil(
      async () => (await deliveries(hook.id))[0],
      (delivery) => delivery.status !== 'pending',
      { ms: 2_000, every: 50 },
    );
    expect(retrying.status).toBe('retrying');
    expect(retrying.nextAttemptAt).not.toBeNull();
    // The window is 6 s: a later failure disables the endpoint.
    await sleep(6_500);
    await createTx(app, admin, { category: 'Down again' });
    const state = await readUntil(
      async () =>
        (await api().get(`/api/v1/webhooks/${hook.id}`).set(bearer(admin)).expect(200)).body as {
          enabled: boolean;
          disabledReason: string | null;
        },
      (webhook) => !webhook.enabled,
      { ms: 20_000, every: 250 },
    );
    expect(state.enabled).toBe(false);
    expect(state.disabledReason).toMatch(/failed since/);

    healthy = true;
    await api()
      .patch(`/api/v1/webhooks/${hook.id}`)
      .set(bearer(admin))
      .send({ enabled: true })
      .expect(200);
    const first = (await deliveries(hook.id)).at(-1)!;
    const before = receiver.at('/down').length;
    const res = await api()
      .post(`/api/v1/webhooks/${hook.id}/deliveries/${first.id}/retry`)
      .set(bearer(admin))
      .expect(202);
    expect(res.body.status).toBe('retrying');
    await receiver.waitFor(() => receiver.at('/down').length > before);
    await sleep(300);
    const again = (await deliveries(hook.id)).find((d) => d.id === first.id)!;
    expect(again.status).toBe('succeeded');
    expect(receiver.at('/down').every((r) => r.verified)).toBe(true);
  });

  it('pings with a signed webhook.ping and reports the attempt', async () => {
    const hook = await register('/ping', ['user.created']);
    const res = await api().post(`/api/v1/webhooks/${hook.id}/ping`).set(bearer(admin)).expect(200);
    expect(res.body).toMatchObject({
      eventType: 'webhook.ping',
      status: 'succeeded',
      statusCode: 204,
      attempt: 1,
    });
    const got = receiver.at('/ping');
    expect(got).toHaveLength(1);
    expect(got[0].verified).toBe(true);
    expect(got[0].body.type).toBe('webhook.ping');
  });

  describe('SSRF rules (loopback traffic only)', () => {
    it.each([
      ['a private address', 'http://10.1.2.3/hook'],
      ['the metadata address', 'http://169.254.169.254/latest/meta-data'],
      ['loopback not on the allow-list', 'http://127.0.0.2:9/hook'],
      ['IPv6 loopback', 'http://[::1]:9/hook'],
      ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/hook'],
      ['IPv4-compatible loopback (deprecated ::/96)', 'http://[::7f00:1]/hook'],
      ['IPv4-compatible private (deprecated ::/96)', 'http://[::a00:1]/hook'],
      ['a non-http scheme', 'ftp://example.com/hook'],
      ['credentials in the url', 'http://user:pw@127.0.0.1/hook'],
    ])('refuses to register %s', async (_name, url) => {
      const res = await api()
        .post('/api/v1/webhooks')
        .set(bearer(admin))
        .send({ url, events: ['user.created'] });
      expectProblem(res, 400, ['url']);
    });

    it('refuses at connect time a host name that resolves to loopback when it is not allowed', async () => {
      const port = new URL(receiver.url).port;
      const before = receiver.received.length;
      const hook = await register('/named', ['user.created'], `http://localhost:${port}/named`);
      const res = await api()
        .post(`/api/v1/webhooks/${hook.id}/ping`)
        .set(bearer(admin))
        .expect(200);
      expect(res.body.status).toBe('failed');
      expect(res.body.statusCode).toBeNull();
      expect(res.body.error).toMatch(/not allowed/);
      expect(receiver.received.length).toBe(before);
    });

    it('does not follow a redirect, even to an address it would refuse', async () => {
      receiver.on(
        '/redirect',
        (_req, res) =>
          void res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data' }).end(),
      );
      const hook = await register('/redirect', ['user.created']);
      const res = await api()
        .post(`/api/v1/webhooks/${hook.id}/ping`)
        .set(bearer(admin))
        .expect(200);
      expect(res.body).toMatchObject({
        status: 'failed',
        statusCode: 302,
        error: 'redirect not followed',
      });
      expect(receiver.at('/redirect')).toHaveLength(1);
    });

    it('reads at most 64 KiB of a response', async () => {
      let written = 0;
      receiver.on('/huge', async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        // Up to 8 MiB, stopping as soon as the client goes away.
        for (let i = 0; i < 512 && !res.destroyed; i++) {
          if (!res.write(chunk)) await sleep(5);
          written += chunk.length;
        }
        res.end();
      });
      const hook = await register('/huge', ['user.created']);
      const res = await api()
        .post(`/api/v1/webhooks/${hook.id}/ping`)
        .set(bearer(admin))
        .expect(200);
      expect(res.body).toMatchObject({ status: 'succeeded', statusCode: 200 });
      expect(written).toBeLessThan(8 * 1024 * 1024);
    });
  });

  it('validates input and answers 404 for unknown webhooks', async () => {
    expectProblem(
      await api()
        .post('/api/v1/webhooks')
        .set(bearer(admin))
        .send({ url: `${receiver.url}/x`, events: ['nope'] }),
      400,
      ['events'],
    );
    expectProblem(
      await api()
        .post('/api/v1/webhooks')
        .set(bearer(admin))
        .send({ url: `${receiver.url}/x`, events: [] }),
      400,
      ['events'],
    );
    expectProblem(
      await api().get('/api/v1/webhooks/00000000-0000-4000-8000-000000000000').set(bearer(admin)),
      404,
    );
    expectProblem(await api().get('/api/v1/webhooks/not-a-uuid').set(bearer(admin)), 400);
  });

  it('stops sending an endpoint owner demoted from admin what that role cannot read', async () => {
    const former = await createUser(app, admin, 'admin');
    const res = await api()
      .post('/api/v1/webhooks')
      .set(bearer(former))
      .send({ url: `${receiver.url}/demoted`, events: ['transaction.created', 'user.updated'] })
      .expect(201);
    receiver.secrets.set('/demoted', res.body.secret as string);
    await api()
      .patch(`/api/v1/users/${former.id}`)
      .set(bearer(admin))
      .send({ role: 'analyst' })
      .expect(200); // a user.updated nobody but organisation readers may see
    await createTx(app, admin, { category: 'NotTheirs' });
    // Dispatched in order: once the later event of its own has arrived, the others were passed over.
    await createTx(app, admin, { category: 'Theirs', ownerId: former.id });
    await receiver.waitFor(() => receiver.at('/demoted').length >= 1);
    await sleep(300);
    const got = receiver.at('/demoted');
    expect(got.map((r) => [r.body.type, r.body.data.category])).toEqual([
      ['transaction.created', 'Theirs'],
    ]);
    // The deliveries are written by the dispatch itself: none for the other events either.
    expect((await deliveries(res.body.id as string)).map((d) => d.eventType)).toEqual([
      'transaction.created',
    ]);
  });

  it('sends nothing to an endpoint whose owner was deactivated', async () => {
    const gone = await createUser(app, admin, 'admin');
    const res = await api()
      .post('/api/v1/webhooks')
      .set(bearer(gone))
      .send({ url: `${receiver.url}/gone`, events: ['transaction.created'] })
      .expect(201);
    await deactivate(app, admin, gone);
    await register('/still-here', ['transaction.created']);
    await createTx(app, admin, { category: 'AfterLeaving' });
    // Both endpoints are considered in the same dispatch round.
    await receiver.waitFor(() =>
      receiver.at('/still-here').some((r) => r.body.data.category === 'AfterLeaving'),
    );
    expect(await deliveries(res.body.id as string)).toEqual([]);
    expect(receiver.at('/gone')).toEqual([]);
  });

  it('lets a key set up deliveries only of the events it could read from the feed', async () => {
    const manageOnly = await createApiKey(app, admin, ['webhooks:manage']);
    const withTx = await createApiKey(app, admin, ['webhooks:manage', 'transactions:read']);
    const url = `${receiver.url}/by-key`;
    for (const events of [['user.created'], ['transaction.created']])
      expectProblem(
        await api().post('/api/v1/webhooks').set(bearer(manageOnly)).send({ url, events }),
        403,
      );
    expectProblem(
      await api()
        .post('/api/v1/webhooks')
        .set(bearer(withTx))
        .send({ url, events: ['transaction.created', 'user.updated'] }),
      403,
    );
    const own = await api()
      .post('/api/v1/webhooks')
      .set(bearer(withTx))
      .send({ url, events: ['transaction.created'] })
      .expect(201);
    // Adding user events, or pointing an endpoint that gets them at oneself, is the same thing.
    expectProblem(
      await api()
        .patch(`/api/v1/webhooks/${own.body.id}`)
        .set(bearer(withTx))
        .send({ events: ['user.created'] }),
      403,
    );
    const users = await register('/users-only', ['user.created']);
    expectProblem(
      await api()
        .patch(`/api/v1/webhooks/${users.id}`)
        .set(bearer(withTx))
        .send({ url: `${receiver.url}/stolen` }),
      403,
    );
    await api()
      .patch(`/api/v1/webhooks/${own.body.id}`)
      .set(bearer(withTx))
      .send({ description: 'fine' })
      .expect(200);
  });

  it('refuses null for events and enabled with a 400 (not a NOT NULL violation)', async () => {
    const hook = await register('/nulls', ['user.created']);
    for (const field of ['events', 'enabled'])
      expectProblem(
        await api()
          .patch(`/api/v1/webhooks/${hook.id}`)
          .set(bearer(admin))
          .send({ [field]: null }),
        400,
        [field],
      );
    // description is nullable: null clears it.
    await api()
      .patch(`/api/v1/webhooks/${hook.id}`)
      .set(bearer(admin))
      .send({ description: null })
      .expect(200);
  });
});
