import { startApp, type TestApp } from '../app';
import { bearer, createApiKey, createUser, loginAdmin, type TestUser } from '../factories';
import { readUntil } from '../waits';

interface FeedEvent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * The change feed goes through the same access policy as the resources it describes: auditors
 * read other people's notes and emails masked, and an API key sees user events only with the
 * `users:read` scope.
 */
describe('event feed access and masking', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let auditor: TestUser;

  const feed = async (caller: { token: string }): Promise<FeedEvent[]> => {
    const res = await app.http().get('/api/v1/events?limit=100').set(bearer(caller)).expect(200);
    return (res.body as { data: FeedEvent[] }).data;
  };
  // The feed hands out events once no older write is still running; a moment may pass.
  const settled = (caller: { token: string }, min: number): Promise<FeedEvent[]> =>
    readUntil(
      () => feed(caller),
      (events) => events.length >= min,
    );

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    analyst = await createUser(app, admin, 'analyst', { email: 'ann.lyst@corp.example' });
    auditor = await createUser(app, admin, 'auditor');
    for (const notes of ['salary for March', '']) {
      await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(analyst))
        .send({ type: 'income', amount: '10.00', category: 'Pay', date: '2026-03-01', notes })
        .expect(201);
    }
  });
  afterAll(() => app.stop());

  it("masks the same way for an auditor's API key", async () => {
    const key = await createApiKey(app, auditor, ['transactions:read', 'users:read']);
    const events = await settled(key, 4);
    expect(events.filter((e) => e.type === 'transaction.created')[0].data.notes).toBe('[masked]');
    expect(events.some((e) => e.type === 'user.created')).toBe(true);
  });

  it('gives a key without users:read no user events, even when it asks for them', async () => {
    const key = await createApiKey(app, admin, ['transactions:read']);
    const events = await settled(key, 2);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => !e.type.startsWith('user.'))).toBe(true);
    const asked = await app
      .http()
      .get('/api/v1/events?types=user.created')
      .set(bearer(key))
      .expect(200);
    expect((asked.body as { data: unknown[] }).data).toEqual([]);
  });
});
