import request from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { createTx, TX } from '../transactions';
import { readUntil } from '../waits';

jest.setTimeout(120_000);

interface EventBody {
  id: string;
  type: string;
  occurredAt: string;
  actorId: string | null;
  data: Record<string, unknown>;
}
interface FeedPage {
  data: EventBody[];
  meta: { limit: number; nextCursor: string | null };
}

describe('events: the outbox and the pull feed', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, other] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
    ]);
  });
  afterAll(() => app?.stop());

  const feed = (user: TestUser, query = '') =>
    app.http().get(`/api/v1/events${query}`).set(bearer(user));

  /** Every event the user can see, paging with `after`, `limit` at a time. */
  async function readAll(user: TestUser, types?: string, limit = 100): Promise<EventBody[]> {
    const out: EventBody[] = [];
    let after = '';
    for (;;) {
      const q = new URLSearchParams({ limit: String(limit) });
      if (after) q.set('after', after);
      if (types) q.set('types', types);
      const res = await feed(user, `?${q.toString()}`).expect(200);
      const page = res.body as FeedPage;
      out.push(...page.data);
      if (page.data.length < limit) return out;
      after = page.meta.nextCursor!;
    }
  }

  it('emits each change once with the resource as its route returned it', async () => {
    const created = await createTx(app, analyst, { category: 'Outbox', notes: 'first' });
    const updated = (
      await app
        .http()
        .patch(`${TX}/${created.id}`)
        .set(bearer(admin))
        .send({ amount: '99.10' })
        .expect(200)
    ).body as Record<string, unknown>;
    await app.http().delete(`${TX}/${created.id}`).set(bearer(admin)).expect(204);
    const restored = (
      await app.http().post(`${TX}/${created.id}/restore`).set(bearer(admin)).expect(200)
    ).body as Record<string, unknown>;

    const about = (await readAll(admin)).filter((e) => e.data.id === created.id);
    expect(about.map((e) => e.type)).toEqual([
      'transaction.created',
      'transaction.updated',
      'transaction.deleted',
      'transaction.restored',
    ]);
    expect(about[0].data).toEqual(created);
    expect(about[0].actorId).toBe(analyst.id);
    expect(about[1].data).toEqual(updated);
    expect(about[1].actorId).toBe(admin.id);
    expect(about[2].data).toMatchObject({ id: created.id, deletedAt: expect.any(String) });
    expect(about[3].data).toEqual(restored);
    for (const e of about) {
      expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(e.occurredAt).toISOString()).toBe(e.occurredAt);
    }
  });

  it('emits user.created and user.updated with the public user, never a hash', async () => {
    const user = await createUser(app, admin, 'viewer');
    await app.http().patch(`/api/v1/users/${user.id}`).set(bearer(admin)).send({ name: 'Renamed' });
    const events = (await readAll(admin, 'user.created,user.updated')).filter(
      (e) => e.data.id === user.id,
    );
    expect(events.map((e) => e.type)).toEqual(['user.created', 'user.updated']);
    expect(events[1].data).toMatchObject({ id: user.id, name: 'Renamed', role: 'viewer' });
    expect(Object.keys(events[1].data).sort()).toEqual(
      ['createdAt', 'email', 'id', 'isActive', 'name', 'role', 'updatedAt'].sort(),
    );
  });

  it('emits one transactions.imported per import, with the count', async () => {
    const csv =
      'date,type,amount,category\n2026-01-02,expense,1.00,Imp\n2026-01-03,income,2.00,Imp\n';
    await app
      .http()
      .post(`${TX}/import`)
      .set(bearer(analyst))
      .set('Content-Type', 'text/csv')
      .send(csv)
      .expect(201);
    const imported = (await readAll(analyst, 'transactions.imported')).at(-1)!;
    expect(imported).toMatchObject({
      type: 'transactions.imported',
      actorId: analyst.id,
      data: { ownerId: analyst.id, imported: 2, skipped: 0, mode: 'all' },
    });
  });

  it('shows others only the events about their own transactions; admins see all', async () => {
    const mine = await createTx(app, other, { category: 'Mine' });
    const theirs = await createTx(app, analyst, { category: 'Theirs' });
    const seen = await readAll(other);
    expect(seen.some((e) => e.data.id === mine.id)).toBe(true);
    expect(seen.some((e) => e.data.id === theirs.id)).toBe(false);
    expect(seen.some((e) => e.type.startsWith('user.'))).toBe(false);
    expect(seen.every((e) => e.data.ownerId === other.id)).toBe(true);
    const all = await readAll(admin);
    expect(all.some((e) => e.data.id === theirs.id)).toBe(true);
  });

  it('pages oldest first without gaps or repeats, and a cursor at the end only returns newer events', async () => {
    const all = await readAll(admin, undefined, 100);
    const paged = await readAll(admin, undefined, 3);
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(new Set(paged.map((e) => e.id)).size).toBe(paged.length);
    const times = all.map((e) => e.occurredAt);
    expect([...times].sort()).toEqual(times);

    const end = (await feed(admin, '?limit=100').expect(200)).body as FeedPage;
    let cursor = end.meta.nextCursor!;
    while (true) {
      const page = (await feed(admin, `?limit=100&after=${cursor}`).expect(200)).body as FeedPage;
      cursor = page.meta.nextCursor!;
      if (page.data.length === 0) break;
    }
    const fresh = await createTx(app, analyst, { category: 'Later' });
    // The feed holds back events newer than a write transaction still running in this database
    // (the webhook dispatcher's, on a loaded machine), so the new event may take a moment.
    const next = await readUntil(
      async () => (await feed(admin, `?after=${cursor}`).expect(200)).body as FeedPage,
      (page) => page.data.length > 0,
      { ms: 3_000 },
    );
    expect(next.data.map((e) => e.data.id)).toEqual([fresh.id]);
  });

  it('never skips an event whose transaction commits after a later one was handed out', async () => {
    let cursor = ((await feed(admin, '?limit=1').expect(200)).body as FeedPage).meta.nextCursor!;
    for (;;) {
      const page = (await feed(admin, `?limit=100&after=${cursor}`).expect(200)).body as FeedPage;
      cursor = page.meta.nextCursor!;
      if (page.data.length === 0) break;
    }
    // A write that took its place in the outbox first but commits last.
    const slow = await app.sql.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(
        `INSERT INTO events (type, actor_id, owner_id, data) VALUES ('transaction.created', $1, $1, '{"id":"slow"}')`,
        [analyst.id],
      );
      const fast = await createTx(app, analyst, { category: 'Fast' });
      // Not handed out yet: the slow transaction might still add an event before it.
      const held = (await feed(admin, `?after=${cursor}`).expect(200)).body as FeedPage;
      expect(held.data).toEqual([]);
      await slow.query('COMMIT');
      const next = (await feed(admin, `?after=${cursor}`).expect(200)).body as FeedPage;
      expect(next.data.map((e) => e.data.id)).toEqual(['slow', fast.id]);
    } finally {
      slow.release();
    }
  });

  it('rejects unknown types, bad limits and forged cursors with 400', async () => {
    expectProblem(await feed(admin, '?types=transaction.created,transaction.exploded'), 400, [
      'types',
    ]);
    expectProblem(await feed(admin, '?limit=0'), 400, ['limit']);
    expectProblem(await feed(admin, '?after=abc.def'), 400, ['cursor']);
    expectProblem(await feed(admin, '?cursor=x'), 400);
    expectProblem(await feed(admin, '?types=a&types=b'), 400);
  });

  it('writes exactly one event per create under 300 parallel creates', async () => {
    const before = Number(
      (await app.sql.query(`SELECT count(*) FROM events WHERE type = 'transaction.created'`))
        .rows[0].count,
    );
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        request(app.url)
          .post(TX)
          .set(bearer(analyst))
          .send({ type: 'expense', amount: '1.00', category: `Burst ${i}`, date: '2026-02-02' }),
      ),
    );
    const ids = results.filter((r) => r.status === 201).map((r) => (r.body as { id: string }).id);
    // Every create answers 201 or a contract status; each committed one has its event.
    expect(results.every((r) => [201, 503].includes(r.status))).toBe(true);
    const after = await app.sql.query(
      `SELECT data->>'id' AS id FROM events WHERE type = 'transaction.created' AND data->>'id' = ANY($1)`,
      [ids],
    );
    expect(after.rows.length).toBe(ids.length);
    const total = Number(
      (await app.sql.query(`SELECT count(*) FROM events WHERE type = 'transaction.created'`))
        .rows[0].count,
    );
    expect(total - before).toBe(ids.length);
    expect(ids.length).toBe(300);
  });

  describe('a write that rolls back emits nothing', () => {
    // Fault injection: the event insert of a marked row fails after the change was written, so
    // the whole transaction must roll back (row, audit entry and event).
    beforeAll(async () => {
      await app.sql.query(`
        CREATE FUNCTION fail_marked_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
      await app.sql.query(`
        CREATE TRIGGER fail_marked_event AFTER INSERT ON events FOR EACH ROW
        WHEN (NEW.data->>'notes' = 'roll me back') EXECUTE FUNCTION fail_marked_event()`);
    });
    afterAll(async () => {
      await app.sql.query(`DROP TRIGGER fail_marked_event ON events`);
    });

    it('a failed create leaves no row, no audit entry and no event', async () => {
      const res = await request(app.url).post(TX).set(bearer(analyst)).send({
        type: 'expense',
        amount: '3.00',
        category: 'Doomed',
        date: '2026-02-03',
        notes: 'roll me back',
      });
      expect(res.status).toBe(500);
      const rows = await app.sql.query(`SELECT 1 FROM transactions WHERE category = 'Doomed'`);
      expect(rows.rows).toHaveLength(0);
      const events = await app.sql.query(`SELECT 1 FROM events WHERE data->>'category' = 'Doomed'`);
      expect(events.rows).toHaveLength(0);
    });

    it('a failed update keeps the old row and writes no event', async () => {
      const row = await createTx(app, analyst, { category: 'Kept', notes: 'fine' });
      const res = await request(app.url)
        .patch(`${TX}/${row.id}`)
        .set(bearer(admin))
        .send({ notes: 'roll me back' });
      expect(res.status).toBe(500);
      const stored = await app.sql.query(`SELECT notes FROM transactions WHERE id = $1`, [row.id]);
      expect(stored.rows[0].notes).toBe('fine');
      const events = await app.sql.query(
        `SELECT type FROM events WHERE data->>'id' = $1 ORDER BY seq`,
        [row.id],
      );
      expect(events.rows.map((r: { type: string }) => r.type)).toEqual(['transaction.created']);
      const audit = await app.sql.query(
        `SELECT action FROM audit_logs WHERE entity_id = $1 ORDER BY at`,
        [row.id],
      );
      expect(audit.rows.map((r: { action: string }) => r.action)).toEqual(['transaction.create']);
    });
  });
});
