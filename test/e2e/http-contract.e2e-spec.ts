import { randomBytes } from 'node:crypto';
import { ADMIN, startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';

const PROBLEM_KEYS = ['detail', 'instance', 'requestId', 'status', 'title', 'type'];

describe('HTTP contract', () => {
  let app: TestApp;
  let admin: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    viewer = await createUser(app, admin, 'viewer');
  });
  afterAll(() => app.stop());

  /** POSTs a raw body to the user-creation route as the admin. */
  const postRaw = (body: string | Buffer, contentType = 'application/json') =>
    app.http().post('/api/v1/users').set(bearer(admin)).set('Content-Type', contentType).send(body);

  const userCount = async () => {
    const { rows } = await app.sql.query<{ n: string }>('SELECT count(*) AS n FROM users');
    return Number(rows[0].n);
  };

  const validUser = () => ({
    name: 'Raw Body',
    email: `raw-${randomBytes(4).toString('hex')}@test.local`,
    password: 'a-good-password',
    role: 'viewer',
  });

  describe('problem details', () => {
    it('answers with exactly type, title, status, detail, instance and requestId', async () => {
      const res = await app.http().get('/api/v1/nothing-here?x=1');
      expectProblem(res, 404);
      expect(Object.keys(res.body).sort()).toEqual(PROBLEM_KEYS);
      expect(res.body).toMatchObject({ title: 'Not Found', instance: '/api/v1/nothing-here' });
    });

    it.each([
      ['a missing token', 401, 'Unauthorized', '/api/v1/users'],
      ['a role that may not call the route', 403, 'Forbidden', '/api/v1/users'],
      ['an unknown route', 404, 'Not Found', '/api/v1/nope'],
      ['invalid input', 400, 'Bad Request', '/api/v1/users'],
      ['a conflict', 409, 'Conflict', '/api/v1/users'],
    ])('uses the problem shape for %s (%i %s)', async (_label, status, title, path) => {
      const http = app.http();
      const res = await {
        401: () => http.get(path),
        403: () => http.get(path).set(bearer(viewer)),
        404: () => http.get(path).set(bearer(admin)),
        400: () => http.post(path).set(bearer(admin)).send({}),
        409: () =>
          http
            .post(path)
            .set(bearer(admin))
            .send({ ...validUser(), email: ADMIN.email }),
      }[status]!();
      expectProblem(res, status);
      expect(res.body.title).toBe(title);
      expect(res.body.instance).toBe(path);
    });

    it('adds errors with field and message to validation problems', async () => {
      const res = await app.http().post('/api/v1/users').set(bearer(admin)).send({});
      expectProblem(res, 400);
      expect(res.body.errors.length).toBeGreaterThan(0);
      for (const error of res.body.errors) {
        expect(Object.keys(error).sort()).toEqual(['field', 'message']);
        expect(typeof error.field).toBe('string');
        expect(typeof error.message).toBe('string');
      }
    });

    it('leaves errors out of problems that are not about fields', async () => {
      const res = await app.http().get('/api/v1/users');
      expect(res.body.errors).toBeUndefined();
    });
  });

  describe('X-Request-Id', () => {
    it('echoes a well-formed client id in the header and the problem body', async () => {
      const id = 'Client.req_1:abc-DEF';
      const res = await app.http().get('/api/v1/auth/me').set('X-Request-Id', id).expect(401);
      expect(res.headers['x-request-id']).toBe(id);
      expect(res.body.requestId).toBe(id);
    });

    it('echoes a client id of 128 characters', async () => {
      const id = 'a'.repeat(128);
      const res = await app.http().get('/health/live').set('X-Request-Id', id);
      expect(res.headers['x-request-id']).toBe(id);
    });

    it.each([
      ['129 characters', 'a'.repeat(129)],
      ['200 characters', 'b'.repeat(200)],
      ['a space', 'has space'],
      ['a slash', 'a/b'],
      ['a quote and angle brackets', '"<script>"'],
      ['non-ASCII letters', 'caf\u00e9'],
    ])('replaces a client id containing %s with a generated one', async (_label, id) => {
      const res = await app
        .http()
        .get('/api/v1/auth/me')
        .set('X-Request-Id', Buffer.from(id, 'utf8').toString('latin1'))
        .expect(401);
      const given = res.headers['x-request-id'];
      expect(given).not.toBe(id);
      expect(given).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expect(res.body.requestId).toBe(given);
    });

    it('generates an id when the client sends none', async () => {
      const res = await app.http().get('/api/v1/auth/me').expect(401);
      expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
    });

    it('generates a different id for each request', async () => {
      const a = await app.http().get('/health/live');
      const b = await app.http().get('/health/live');
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    it('sends the id on successful responses too', async () => {
      const res = await app
        .http()
        .get('/api/v1/auth/me')
        .set(bearer(admin))
        .set('X-Request-Id', 'ok-req-1')
        .expect(200);
      expect(res.headers['x-request-id']).toBe('ok-req-1');
    });
  });

  describe('request bodies', () => {
    it('answers malformed JSON with a 400 problem, and creates nothing', async () => {
      const before = await userCount();
      const res = await postRaw('{"name": "Half", "email": ');
      expectProblem(res, 400);
      expect(await userCount()).toBe(before);
    });

    it('answers a JSON body that is a bare string with a 400 problem', async () => {
      expectProblem(await postRaw('"just a string"'), 400);
    });

    it('answers a JSON body that is an array with a 400 problem', async () => {
      expectProblem(await postRaw(JSON.stringify([validUser()])), 400);
    });

    it('answers a JSON body that is null with a 400 problem', async () => {
      expectProblem(await postRaw('null'), 400);
    });

    it('answers a form-encoded body with a 415 problem, and creates nothing', async () => {
      const before = await userCount();
      const form = new URLSearchParams(validUser()).toString();
      const res = await postRaw(form, 'application/x-www-form-urlencoded');
      expectProblem(res, 415);
      expect(await userCount()).toBe(before);
    });

    it('answers a text/plain body holding JSON with a 415 problem', async () => {
      expectProblem(await postRaw(JSON.stringify(validUser()), 'text/plain'), 415);
    });

    it('answers a multipart body on a JSON route with a 415 problem', async () => {
      const res = await app
        .http()
        .post('/api/v1/users')
        .set(bearer(admin))
        .field('name', 'Multi Part')
        .field('email', 'multi@test.local');
      expectProblem(res, 415);
    });

    it('accepts application/json with a charset', async () => {
      await postRaw(JSON.stringify(validUser()), 'application/json; charset=utf-8').expect(201);
    });

    it('answers a JSON body over 1 MiB with a 413 problem', async () => {
      const body = JSON.stringify({ ...validUser(), name: 'n'.repeat(1024 * 1024 + 10) });
      expectProblem(await postRaw(body), 413);
    });

    it('reads a JSON body just under 1 MiB (then validates it: 400, not 413)', async () => {
      const base = JSON.stringify({ ...validUser(), name: '' });
      const body = base.replace(
        '"name":""',
        `"name":"${'n'.repeat(1024 * 1024 - base.length - 1)}"`,
      );
      expect(Buffer.byteLength(body)).toBeLessThan(1024 * 1024);
      const res = await postRaw(body);
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain('name');
    });

    it.each(['__proto__', 'constructor', 'prototype'])(
      'answers a top-level %s key with 400 naming it, and creates nothing',
      async (key) => {
        const user = validUser();
        const body = `{"${key}":{"role":"admin"},${JSON.stringify(user).slice(1)}`;
        const res = await postRaw(body);
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(key);
        const { rows } = await app.sql.query('SELECT 1 FROM users WHERE email = $1', [user.email]);
        expect(rows).toHaveLength(0);
      },
    );

    it.each(['toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'])(
      'answers an unknown body field named like an Object member (%s) with 400, and creates nothing',
      async (key) => {
        const user = validUser();
        const res = await postRaw(JSON.stringify({ ...user, [key]: 'x' }));
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(key);
        const { rows } = await app.sql.query('SELECT 1 FROM users WHERE email = $1', [user.email]);
        expect(rows).toHaveLength(0);
      },
    );

    it('answers a __proto__ key nested inside a field with 400, and creates nothing', async () => {
      const user = validUser();
      const body = JSON.stringify(user).replace(
        '"role":"viewer"',
        '"role":{"__proto__":{"polluted":true}}',
      );
      const before = await userCount();
      expectProblem(await postRaw(body), 400);
      expect(await userCount()).toBe(before);
    });

    it('answers a __proto__ key on the login route with 400', async () => {
      const res = await app
        .http()
        .post('/api/v1/auth/login')
        .set('Content-Type', 'application/json')
        .send(`{"email":"${ADMIN.email}","password":"${ADMIN.password}","__proto__":{"x":1}}`);
      expectProblem(res, 400);
    });

    it('answers an object nested 50 levels deep with a 400 problem, not 500', async () => {
      const deep = `${'{"a":'.repeat(50)}1${'}'.repeat(50)}`;
      const res = await postRaw(JSON.stringify(validUser()).replace('"viewer"', deep));
      expectProblem(res, 400);
    });

    it('answers arrays nested 50 levels deep with a 400 problem, not 500', async () => {
      const deep = `${'['.repeat(50)}1${']'.repeat(50)}`;
      const res = await postRaw(JSON.stringify(validUser()).replace('"viewer"', deep));
      expectProblem(res, 400);
    });

    it('answers arrays nested 100,000 levels deep with a 400 problem, not 500', async () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const res = await postRaw(`{"name":${deep}}`);
      expectProblem(res, 400);
    });

    it('answers an object where the schema expects a string with a 400 naming the field', async () => {
      const res = await postRaw(JSON.stringify({ ...validUser(), name: { first: 'A' } }));
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain('name');
    });

    it('answers a POST without a body with a 400 problem', async () => {
      const res = await app.http().post('/api/v1/auth/login');
      expectProblem(res, 400);
    });
  });

  describe('query strings', () => {
    it.each(['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'])(
      'answers an unknown query parameter named %s with 400 naming it',
      async (key) => {
        const res = await app.http().get(`/api/v1/users?${key}=1`).set(bearer(admin));
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(key);
      },
    );

    it('answers a misspelt query parameter with 400 instead of ignoring it', async () => {
      const res = await app.http().get('/api/v1/users?rol=admin').set(bearer(admin));
      expectProblem(res, 400);
      expect(fieldsOf(res)).toEqual(['rol']);
    });
  });

  describe('text the database cannot store', () => {
    it('answers a NUL character in a query parameter with 400, not 500', async () => {
      expectProblem(await app.http().get('/api/v1/users?q=a%00b').set(bearer(admin)), 400);
    });

    it('answers a NUL character in a body field with 400, not 500, and creates nothing', async () => {
      const before = await userCount();
      expectProblem(await postRaw(JSON.stringify({ ...validUser(), name: 'a\u0000b' })), 400);
      expect(await userCount()).toBe(before);
    });

    it('answers a NUL character in the login email with 400, not 500', async () => {
      const res = await app
        .http()
        .post('/api/v1/auth/login')
        .send({ email: `${ADMIN.email}\u0000`, password: ADMIN.password });
      expectProblem(res, 400);
    });
  });

  describe('routing and headers', () => {
    it('answers an unknown route with a 404 problem', async () => {
      expectProblem(await app.http().get('/api/v1/does-not-exist'), 404);
    });

    it('answers an unknown route outside the prefix with a 404 problem', async () => {
      expectProblem(await app.http().get('/users'), 404);
    });

    it('answers an unsupported method on a known path with a 404 problem', async () => {
      expectProblem(await app.http().delete('/api/v1/users').set(bearer(admin)), 404);
    });

    it('sends helmet headers', async () => {
      const res = await app.http().get('/health/live').expect(200);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBeDefined();
      expect(res.headers['content-security-policy']).toBeDefined();
    });

    it('sends helmet headers on problem responses too', async () => {
      const res = await app.http().get('/api/v1/does-not-exist');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    it('does not announce the framework', async () => {
      const res = await app.http().get('/health/live');
      expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it('sends no CORS headers when CORS_ORIGINS is unset', async () => {
      const res = await app
        .http()
        .get('/api/v1/auth/me')
        .set(bearer(admin))
        .set('Origin', 'https://evil.example')
        .expect(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it('answers a CORS preflight without CORS headers when CORS_ORIGINS is unset', async () => {
      const res = await app
        .http()
        .options('/api/v1/users')
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
    });
  });
});
