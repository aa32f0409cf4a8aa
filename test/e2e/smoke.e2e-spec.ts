import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';

describe('app basics', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  it('reports live and ready without auth', async () => {
    await app.http().get('/health/live').expect(200);
    const res = await app.http().get('/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
  });

  it('answers an unauthenticated call with a problem+json 401 and a request id', async () => {
    const res = await app.http().get('/api/v1/auth/me').set('X-Request-Id', 'abc-123').expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.body).toMatchObject({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      instance: '/api/v1/auth/me',
      requestId: 'abc-123',
    });
  });

  it('lets a created analyst read itself', async () => {
    const analyst = await createUser(app, admin, 'analyst');
    const res = await app.http().get('/api/v1/auth/me').set(bearer(analyst)).expect(200);
    expect(res.body).toMatchObject({ id: analyst.id, role: 'analyst', isActive: true });
    expect(res.body.passwordHash).toBeUndefined();
  });
});
