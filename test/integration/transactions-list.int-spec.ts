import type { TransactionResponse } from '../../src/transactions/dto/transaction.response';
import type { ListTransactionsDto } from '../../src/transactions/dto/list-transactions.dto';
import { TransactionListService } from '../../src/transactions/transaction-list.service';
import { TransactionsService } from '../../src/transactions/transactions.service';
import type { User } from '../../src/users/entities/user.entity';
import { FILTER_ROWS, RIVAL_ROWS } from '../list-fixtures';
import { createTx, createUser } from './factories';
import { type Harness, startHarness } from './harness';

/**
 * Which rows a filter combination returns, in process: TransactionListService.list with the query
 * object the ValidationPipe hands it (strings for dates, amounts and searches, numbers for limit).
 * Parsing and refusing the query string (400s), the 403 for a non-admin's ownerId/deleted and the
 * 404 for another analyst's row stay in test/e2e/transactions-list.e2e-spec.ts.
 */
describe('transactions list: filters, isolation', () => {
  let h: Harness;
  let admin: User;
  let transactions: TransactionsService;
  let lists: TransactionListService;

  beforeAll(async () => {
    h = await startHarness();
    admin = h.admin;
    transactions = h.get(TransactionsService);
    lists = h.get(TransactionListService);
  });
  afterAll(() => h?.close());

  /** The rows of one list call, as many as a page holds (`limit=100`). */
  const list = async (user: User, query: ListTransactionsDto) =>
    (await lists.list(user, { limit: 100, ...query })).rows;
  const ids = async (user: User, query: ListTransactionsDto): Promise<string[]> =>
    (await list(user, query)).map((r) => r.id);

  describe('filters', () => {
    let owner: User;
    let rival: User;
    const row: Record<string, TransactionResponse> = {};
    const set = (...names: string[]) => names.map((n) => row[n].id).sort();
    const filtered = async (query: ListTransactionsDto) => (await ids(owner, query)).sort();

    beforeAll(async () => {
      [owner, rival] = await Promise.all([createUser(h, 'analyst'), createUser(h, 'analyst')]);
      const spec: Record<string, Parameters<typeof createTx>[2]> = FILTER_ROWS;
      for (const [name, body] of Object.entries(spec)) row[name] = await createTx(h, owner, body);
      await transactions.remove(admin, row.gone.id);
      for (const body of RIVAL_ROWS) await createTx(h, rival, body);
    });

    it('hides deleted rows and other users’ rows by default', async () => {
      expect(await filtered({})).toEqual(
        set('salary', 'lunch', 'snack', 'stuff', 'taxi', 'refund'),
      );
    });

    it('filters by type', async () => {
      expect(await filtered({ type: 'income' })).toEqual(set('salary', 'refund'));
    });

    it.each(['Food', 'FOOD', 'food'])(
      'matches category=%s exactly but case-insensitively',
      async (category) => {
        expect(await filtered({ category })).toEqual(set('lunch', 'snack'));
      },
    );

    it('includes both ends of from/to', async () => {
      expect(await filtered({ from: '2026-01-15', to: '2026-01-31' })).toEqual(
        set('lunch', 'snack'),
      );
      expect(await filtered({ from: '2026-02-01', to: '2026-02-01' })).toEqual(
        set('stuff', 'refund'),
      );
    });

    it('includes both ends of minAmount/maxAmount', async () => {
      expect(await filtered({ minAmount: '12.49', maxAmount: '30' })).toEqual(
        set('lunch', 'stuff', 'refund'),
      );
      expect(await filtered({ minAmount: '0.01', maxAmount: '0.01' })).toEqual(set('taxi'));
    });

    it('compares amount bounds as numbers, not text', async () => {
      expect(await filtered({ minAmount: '9', maxAmount: '100' })).toEqual(
        set('lunch', 'stuff', 'refund'),
      );
    });

    it('matches q as a case-insensitive substring of category or notes', async () => {
      expect(await filtered({ q: 'fOoD' })).toEqual(set('lunch', 'snack', 'stuff', 'taxi'));
      expect(await filtered({ q: 'LUNCH' })).toEqual(set('lunch'));
    });

    it('matches % and _ in q literally, not as wildcards', async () => {
      expect(await filtered({ q: '50%' })).toEqual(set('lunch'));
      expect(await filtered({ q: 'k_b' })).toEqual(set('snack'));
    });

    it('combines filters with AND', async () => {
      expect(
        await filtered({ type: 'expense', q: 'food', from: '2026-01-01', maxAmount: '10' }),
      ).toEqual(set('snack'));
    });

    it('lets an admin narrow to one owner with ownerId', async () => {
      expect((await ids(admin, { ownerId: owner.id })).sort()).toEqual(
        set('salary', 'lunch', 'snack', 'stuff', 'taxi', 'refund'),
      );
    });

    it('shows an admin deleted rows with deleted=include, each row carrying deletedAt', async () => {
      const data = await list(admin, { ownerId: owner.id, deleted: 'include' });
      expect(data.map((r) => r.id).sort()).toEqual(set(...Object.keys(row)));
      for (const r of data) {
        expect(r).toHaveProperty('deletedAt');
        // A Date in process, its ISO text over HTTP: either way a real instant.
        if (r.id === row.gone.id) expect(new Date(r.deletedAt!).getTime()).not.toBeNaN();
        else expect(r.deletedAt).toBeNull();
      }
    });

    it('shows an admin only deleted rows with deleted=only', async () => {
      const data = (await lists.list(admin, { ownerId: owner.id, deleted: 'only' })).rows;
      expect(data).toHaveLength(1);
      expect(data[0]).toMatchObject({ id: row.gone.id, category: 'Food' });
      expect(new Date(data[0].deletedAt!).getTime()).not.toBeNaN();
    });

    it('leaves deletedAt out with deleted=exclude', async () => {
      const data = (await lists.list(admin, { ownerId: owner.id, deleted: 'exclude' })).rows;
      expect(data.length).toBe(6);
      for (const r of data) expect(r).not.toHaveProperty('deletedAt');
    });

    describe('ownership isolation', () => {
      it('shows each analyst only its own rows', async () => {
        const mine = await ids(owner, {});
        const theirs = await ids(rival, {});
        expect(theirs).toHaveLength(2);
        expect(mine.filter((id) => theirs.includes(id))).toEqual([]);
        const owners = await h.sql.query(
          'SELECT DISTINCT owner_id FROM transactions WHERE id = ANY($1)',
          [theirs],
        );
        expect(owners.rows).toEqual([{ owner_id: rival.id }]);
      });

      it.each<[string, ListTransactionsDto]>([
        ['q=lunch', { q: 'lunch' }],
        ['q=50%25', { q: '50%' }],
        ['q=k_b', { q: 'k_b' }],
        ['category=food', { category: 'food' }],
        ['from=2026-01-31&to=2026-01-31', { from: '2026-01-31', to: '2026-01-31' }],
      ])('never leaks the other analyst’s rows through %s', async (_query, query) => {
        const mine = (await ids(owner, query)).sort();
        const theirs = (await ids(rival, query)).sort();
        expect(mine.length).toBeGreaterThan(0);
        expect(theirs.length).toBeGreaterThan(0);
        expect(mine.filter((id) => theirs.includes(id))).toEqual([]);
        expect(mine.every((id) => Object.values(row).some((r) => r.id === id))).toBe(true);
      });
    });
  });
});
