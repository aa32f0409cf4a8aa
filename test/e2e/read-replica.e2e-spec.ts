import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { freePort } from '../ports';
import { type ReplicaPair, replicaPairUnavailable, startReplicaPair } from '../replica-pair';
import { createTx, TX } from '../transactions';
import { type Patience, sleep, waitFor } from '../waits';

/**
 * DATABASE_REPLICA_URL read routing (docs/api.md section 13) against a real streaming replica that
 * applies every transaction 500 ms late (recovery_min_apply_delay). A read that lands on the
 * replica right after a write cannot see it, so "missed a row the primary has committed" proves a
 * read came from the replica and "saw it" that it came from the primary; nothing in the app can
 * fake either.
 */
const APPLY_DELAY_MS = 500;
const unavailable = replicaPairUnavailable();

if (unavailable) {
  console.warn(
    `\n*** read-replica e2e tests SKIPPED: ${unavailable}. Install postgresql-15 (server binaries) to run them. ***\n`,
  );
  describe('read replicas', () => {
    it.todo(`route reads to a streaming replica (skipped here: ${unavailable})`);
  });
} else {
  describe('read replicas (DATABASE_REPLICA_URL)', () => {
    let pair: ReplicaPair;
    /** Two instances sharing the primary, the replica and (when REDIS_URL is set) Redis. */
    let one: TestApp;
    let two: TestApp;
    /** REPLICA_MAX_LAG_MS=200: skips the replica as soon as it falls behind. */
    let strict: TestApp;
    let writer: TestUser;
    let reader: TestUser;

    const hasRedis = (() => {
      try {
        execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    let redis: ChildProcess | undefined;
    let port = 0;
    /** DATABASE_REPLICA_URL and a Redis of its own, which a test stops. */
    let app: TestApp;
    const startRedis = () => {
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
    };

    beforeAll(async () => {
      pair = await startReplicaPair(`finance_replica_${randomBytes(4).toString('hex')}`, {
        applyDelayMs: APPLY_DELAY_MS,
      });
      const env = {
        DATABASE_REPLICA_URL: pair.replicaUrl,
        ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      };
      one = await startApp(env, { databaseUrl: pair.primaryUrl });
      if (hasRedis) {
        port = await freePort();
        startRedis();
      } else {
        console.warn('read-replica e2e: redis-server not found, the Redis outage test is SKIPPED');
      }
      [two, strict, app] = await Promise.all([
        // Without Redis the positions live in each process: the second instance is the first.
        process.env.REDIS_URL ? startApp(env, { databaseUrl: pair.primaryUrl }) : one,
        startApp({ ...env, REPLICA_MAX_LAG_MS: '200' }, { databaseUrl: pair.primaryUrl }),
        hasRedis
          ? startApp(
              { DATABASE_REPLICA_URL: pair.replicaUrl, REDIS_URL: `redis://127.0.0.1:${port}` },
              { databaseUrl: pair.primaryUrl },
            )
          : one,
      ]);
      if (!process.env.REDIS_URL) {
        console.warn('read-replica e2e: REDIS_URL unset, read-your-writes checked on one instance');
      }
      writer = await loginAdmin(one);
      reader = await createUser(one, writer, 'admin');
      // The reader's creation is replayed before the tests start.
      await sleep(APPLY_DELAY_MS * 2);
    }, 120_000);

    afterAll(async () => {
      await Promise.all([...new Set([one, two, strict, app])].map((a) => a?.stop()));
      redis?.kill('SIGKILL');
      pair?.destroy();
    }, 60_000);

    /** A row committed on the primary behind the app's back: no caller's position covers it. */
    async function insertBehindTheAppsBack(): Promise<string> {
      const { rows } = await one.sql.query<{ id: string }>(
        `INSERT INTO transactions (owner_id, type, amount, currency, category, date)
         VALUES ($1, 'income', '1.00', 'USD', 'Direct', '2026-01-05') RETURNING id`,
        [writer.id],
      );
      return rows[0].id;
    }

    const getOne = (app: TestApp, user: TestUser, id: string) =>
      app.http().get(`${TX}/${id}`).set(bearer(user));

    /** How the waits below poll the replica: every 50 ms, for up to 10 s. */
    const POLL: Patience = { ms: 10_000, every: 50 };

    it("sends another caller's reads to the replica: they miss a write committed a moment ago", async () => {
      for (let i = 0; i < 10; i++) {
        const tx = await createTx(one, writer, { amount: `${i + 1}.25` });
        await getOne(two, reader, tx.id).expect(404);
        await waitFor(
          'the replica to apply the write',
          async () => (await getOne(two, reader, tx.id)).status === 200,
          POLL,
        );
      }
    }, 60_000);

    it("a caller's write followed at once by its read (on another instance) sees the write: 1,000 of 1,000", async () => {
      let seen = 0;
      // Four sequences of 250 at once (one caller): each read follows its own write at once.
      await Promise.all(
        [0, 1, 2, 3].map(async (sequence) => {
          for (let i = sequence; i < 1000; i += 4) {
            const [write, read] = i % 2 === 0 ? [one, two] : [two, one];
            const amount = `${1000 + i}.${String(i % 100).padStart(2, '0')}`;
            const tx = await createTx(write, writer, { amount });
            const res = await getOne(read, writer, tx.id);
            if (res.status === 200 && res.body.amount === amount) seen++;
          }
        }),
      );
      expect(seen).toBe(1000);
    }, 120_000);

    it("an admin's create, update and delete for another user are seen by that user's next read (on another instance)", async () => {
      const owner = await createUser(one, writer, 'viewer');
      for (let i = 0; i < 10; i++) {
        const [write, read] = i % 2 === 0 ? [one, two] : [two, one];
        const tx = await createTx(write, writer, { ownerId: owner.id, amount: `${i + 1}.50` });
        const created = await getOne(read, owner, tx.id);
        expect({ status: created.status, amount: created.body.amount }).toEqual({
          status: 200,
          amount: `${i + 1}.50`,
        });
        await write.http().patch(`${TX}/${tx.id}`).set(bearer(writer)).send({ amount: '99.99' });
        const updated = await getOne(read, owner, tx.id);
        expect(updated.body.amount).toBe('99.99');
        await write.http().delete(`${TX}/${tx.id}`).set(bearer(writer)).expect(204);
        await getOne(read, owner, tx.id).expect(404);
      }
    }, 60_000);

    it("the writer's reads return to the replica once it has replayed the write", async () => {
      await createTx(one, writer);
      await sleep(APPLY_DELAY_MS * 3);
      const id = await insertBehindTheAppsBack();
      await getOne(two, writer, id).expect(404);
    }, 30_000);

    it('skips a replica further behind than REPLICA_MAX_LAG_MS', async () => {
      await pair.onReplica('SELECT pg_wal_replay_pause()');
      try {
        const id = await insertBehindTheAppsBack();
        await sleep(700);
        // 700 ms behind: within the default 5000 ms (replica), past the strict 200 ms (primary).
        await getOne(one, reader, id).expect(404);
        await getOne(strict, reader, id).expect(200);
      } finally {
        await pair.onReplica('SELECT pg_wal_replay_resume()');
      }
    }, 30_000);

    describe('with the position store (Redis) unreachable', () => {
      (hasRedis ? it : it.skip)(
        'sends every read to the primary while Redis is down, and uses the replica again once the floor is raised after it is back',
        async () => {
          // Up: another caller's read right after a write misses it (replica).
          await waitFor(
            'reads to reach the replica',
            async () => (await getOne(app, reader, await insertBehindTheAppsBack())).status === 404,
            POLL,
          );
          redis!.kill('SIGKILL');
          await new Promise((r) => redis!.once('exit', r));
          // Down: nobody's position can be known, so everybody reads the primary and sees the row.
          for (let i = 0; i < 20; i++) {
            const tx = await createTx(app, writer, { amount: `${i + 1}.75` });
            await getOne(app, writer, tx.id).expect(200);
            await getOne(app, reader, await insertBehindTheAppsBack()).expect(200);
          }
          startRedis();
          await waitFor(
            'reads to reach the replica again',
            async () => (await getOne(app, reader, await insertBehindTheAppsBack())).status === 404,
            { ...POLL, ms: 15_000 },
          );
          // And the writer still reads its own writes.
          const tx = await createTx(app, writer, { amount: '4.44' });
          await getOne(app, writer, tx.id).expect(200);
        },
        60_000,
      );
    });

    it('answers 200 from the primary while the replica is down, and uses it again once it is back', async () => {
      const id = await insertBehindTheAppsBack();
      await sleep(APPLY_DELAY_MS * 3);
      pair.stopReplica();
      const reads = [
        `${TX}/${id}`,
        `${TX}?limit=5`,
        `${TX}?cursor=&limit=5`,
        '/api/v1/dashboard/summary',
        '/api/v1/dashboard',
        '/api/v1/dashboard/recent',
        '/api/v1/audit-logs?limit=5',
        `${TX}/export`,
      ];
      const statuses: number[] = [];
      // Right away (before any instance noticed) and for a while after.
      const until = Date.now() + 1_500;
      while (Date.now() < until) {
        const batch = await Promise.all(
          [one, two].flatMap((app) =>
            reads.map((path) => app.http().get(path).set(bearer(reader))),
          ),
        );
        statuses.push(...batch.map((r) => r.status));
      }
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(statuses.length).toBeGreaterThanOrEqual(reads.length * 2);

      pair.startReplica();
      // Back on the replica: a row committed a moment ago is missed again.
      await waitFor(
        'reads to reach the replica again',
        async () => (await getOne(one, reader, await insertBehindTheAppsBack())).status === 404,
        { ...POLL, ms: 15_000 },
      );
    }, 60_000);
  });
}
