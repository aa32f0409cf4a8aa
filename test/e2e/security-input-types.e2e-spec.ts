import { randomBytes } from 'node:crypto';
import { startApp, type TestApp } from '../app';
import { bearer, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';
import {
  hostileInputHelpers,
  seedHostileInput,
  tx,
  type TableCounts,
} from '../security-input-helpers';

/**
 * Hostile input: arrays, objects, numbers, booleans and nulls where the API expects a scalar of
 * another type, in queries and in every write body (transactions, users, login, refresh). Every
 * one gets a 400 naming the field, never a 500, and changes nothing.
 */

describe('security: hostile input', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let victim: TestUser;
  let ownTx: string;
  let counts: TableCounts;

  const { tableCounts, get } = hostileInputHelpers(() => app);

  beforeAll(async () => {
    app = await startApp();
    ({ admin, analyst, victim, ownTx } = await seedHostileInput(app));
    counts = await tableCounts();
  });
  afterAll(() => app.stop());

  describe('arrays and wrong types where scalars are expected', () => {
    it.each([
      ['/api/v1/transactions?type=income&type=expense'],
      ['/api/v1/transactions?type[]=income'],
      ['/api/v1/transactions?category=Food&category=Pct'],
      ['/api/v1/transactions?sort=date&sort=-date'],
      ['/api/v1/transactions?limit=1&limit=2'],
      ['/api/v1/transactions?q[]=lunch'],
      ['/api/v1/transactions?q[$ne]=x'],
      ['/api/v1/transactions/export?type[]=income'],
      ['/api/v1/dashboard/summary?range=all&range=ytd'],
    ])('answers the repeated or array-shaped query %s with 400', async (path) => {
      expectProblem(await get(analyst, path), 400);
    });

    it.each([
      ['/api/v1/users?role=admin&role=viewer'],
      ['/api/v1/audit-logs?action[]=user.create'],
    ])('answers the admin query %s with 400', async (path) => {
      expectProblem(await get(admin, path), 400);
    });

    const bodies: [string, Record<string, unknown>, string][] = [
      ['amount as an array', { amount: ['1'] }, 'amount'],
      ['amount as {"$gt": 0}', { amount: { $gt: 0 } }, 'amount'],
      ['amount as true', { amount: true }, 'amount'],
      ['amount as null', { amount: null }, 'amount'],
      ['category as {"$ne": 1}', { category: { $ne: 1 } }, 'category'],
      ['category as an array', { category: ['Food'] }, 'category'],
      ['category as a number', { category: 123 }, 'category'],
      ['category as true', { category: true }, 'category'],
      ['category as null', { category: null }, 'category'],
      ['type as an array', { type: ['income'] }, 'type'],
      ['type as a number', { type: 1 }, 'type'],
      ['type as false', { type: false }, 'type'],
      ['type as null', { type: null }, 'type'],
      ['date as an array', { date: ['2026-02-01'] }, 'date'],
      ['date as a number', { date: 20260201 }, 'date'],
      ['date as null', { date: null }, 'date'],
      ['notes as an array', { notes: ['x'] }, 'notes'],
      ['notes as an object', { notes: { a: 1 } }, 'notes'],
      ['notes as a number', { notes: 5 }, 'notes'],
      ['ownerId as an array', { ownerId: ['x'] }, 'ownerId'],
    ];

    it.each(bodies)(
      'answers POST /transactions with %s with 400 naming the field, creating nothing',
      async (_name, over, field) => {
        const res = await app
          .http()
          .post('/api/v1/transactions')
          .set(bearer(analyst))
          .send(tx(over));
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        expect(await tableCounts()).toEqual(counts);
      },
    );

    it.each([
      ['type', null],
      ['amount', null],
      ['category', null],
      ['date', null],
      ['amount', ['5.00']],
      ['category', { $ne: 1 }],
      ['category', 42],
      ['type', true],
    ])(
      'answers an admin’s PATCH /transactions/:id setting %s to %j with 400, changing nothing',
      async (field, value) => {
        const before = await app.sql.query('SELECT * FROM transactions WHERE id = $1', [ownTx]);
        const res = await app
          .http()
          .patch(`/api/v1/transactions/${ownTx}`)
          .set(bearer(admin))
          .send({ [field]: value });
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        const after = await app.sql.query('SELECT * FROM transactions WHERE id = $1', [ownTx]);
        expect(after.rows).toEqual(before.rows);
      },
    );

    it('still lets an admin clear notes with null (control for the null checks above)', async () => {
      const res = await app
        .http()
        .patch(`/api/v1/transactions/${ownTx}`)
        .set(bearer(admin))
        .send({ notes: null })
        .expect(200);
      expect(res.body.notes).toBeNull();
      await app
        .http()
        .patch(`/api/v1/transactions/${ownTx}`)
        .set(bearer(admin))
        .send({ notes: 'plain lunch' })
        .expect(200);
    });

    const userBodies: [string, Record<string, unknown>, string][] = [
      ['name as a number', { name: 5 }, 'name'],
      ['name as null', { name: null }, 'name'],
      ['email as a number', { email: 5 }, 'email'],
      ['email as an array', { email: ['a@test.local'] }, 'email'],
      ['password as a number', { password: 12345678 }, 'password'],
      ['password as null', { password: null }, 'password'],
      ['role as true', { role: true }, 'role'],
      ['role as an array', { role: ['admin'] }, 'role'],
    ];

    it.each(userBodies)(
      'answers POST /users with %s with 400 naming the field',
      async (_n, over, field) => {
        const res = await app
          .http()
          .post('/api/v1/users')
          .set(bearer(admin))
          .send({
            name: 'Typed',
            email: `typed-${randomBytes(3).toString('hex')}@test.local`,
            password: 'a-good-password',
            role: 'viewer',
            ...over,
          });
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain(field);
        expect(await tableCounts()).toEqual(counts);
      },
    );

    it.each([
      ['isActive as the string "false"', { isActive: 'false' }, 'isActive'],
      ['isActive as 0', { isActive: 0 }, 'isActive'],
      ['isActive as null', { isActive: null }, 'isActive'],
      ['role as null', { role: null }, 'role'],
      ['name as an object', { name: { $ne: '' } }, 'name'],
    ])('answers PATCH /users/:id with %s with 400 naming the field', async (_n, body, field) => {
      const res = await app
        .http()
        .patch(`/api/v1/users/${victim.id}`)
        .set(bearer(admin))
        .send(body);
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
    });

    it.each([
      ['email as a number', { email: 1, password: 'whatever-pass' }],
      ['email as {"$ne": null}', { email: { $ne: null }, password: 'whatever-pass' }],
      ['password as {"$ne": null}', { email: 'root@test.local', password: { $ne: null } }],
      ['password as true', { email: 'root@test.local', password: true }],
      ['email as null', { email: null, password: 'whatever-pass' }],
    ])('answers a login with %s with 400, not a token', async (_n, body) => {
      const res = await app.http().post('/api/v1/auth/login').send(body);
      expectProblem(res, 400);
      expect(res.body).not.toHaveProperty('accessToken');
    });

    it.each([
      ['a number', 123],
      ['an array', ['x']],
      ['null', null],
    ])('answers a refresh token given as %s with 400', async (_n, value) => {
      expectProblem(
        await app.http().post('/api/v1/auth/refresh').send({ refreshToken: value }),
        400,
      );
    });
  });
});
