import type { ListTransactionsDto, Sort } from '../../src/transactions/dto/list-transactions.dto';
import { TransactionListService } from '../../src/transactions/transaction-list.service';
import type { User } from '../../src/users/entities/user.entity';
import { expectedOrder, type Keys } from '../list-order';
import { createTx, createUser } from './factories';
import { type Harness, startHarness } from './harness';

/**
 * The sort matrix of the transaction list, in process: TransactionListService.list with `sort` as
 * the ValidationPipe passes it. Paging (page and cursor walks, `meta`, refused cursors) stays in
 * test/e2e/transactions-pagination.e2e-spec.ts.
 */
const SORTS: Sort[] = ['date', '-date', 'amount', '-amount', 'createdAt', '-createdAt'];

describe('transactions list: sorting', () => {
  let h: Harness;
  let admin: User;
  let transactions: TransactionListService;
  let sorter: User;
  let tied: User;

  /** The ids of one list call, as many as a page holds (`limit=100`). */
  const ids = async (user: User, query: ListTransactionsDto): Promise<string[]> =>
    (await transactions.list(user, { limit: 100, ...query })).rows.map((r) => r.id);
  /** The live rows of one owner, as raw sort keys. */
  async function liveKeys(ownerId: string, notesLike = '%'): Promise<Keys[]> {
    const res = await h.sql.query(
      `SELECT id::text AS id, date::text AS date, amount::text AS amount,
         (extract(epoch FROM created_at) * 1000000)::bigint::text AS micros
       FROM transactions
       WHERE owner_id = $1 AND deleted_at IS NULL AND coalesce(notes, '') LIKE $2`,
      [ownerId, notesLike],
    );
    return res.rows as Keys[];
  }

  beforeAll(async () => {
    h = await startHarness();
    admin = h.admin;
    transactions = h.get(TransactionListService);
    [sorter, tied] = await Promise.all([createUser(h, 'analyst'), createUser(h, 'analyst')]);
    for (const [date, amount] of [
      ['2026-05-01', '10.00'],
      ['2026-05-02', '5.00'],
      ['2026-05-02', '5.00'],
      ['2026-05-02', '5.00'],
      ['2026-04-30', '100.00'],
      ['2026-05-03', '9.99'],
    ]) {
      await createTx(h, sorter, { date, amount });
    }
    // Eight rows equal in date and amount: four through the service, and four inserted by one
    // statement, so those four also share created_at to the microsecond. The tie tests read them
    // through an admin's search (q=tie), which no index returns presorted: the database sorts.
    for (let i = 0; i < 4; i++) {
      await createTx(h, tied, { date: '2026-06-01', amount: '7.77', notes: 'api tie' });
    }
    await h.sql.query(
      `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes)
       SELECT $1, 'expense', 7.77, 'USD', 'Tie', DATE '2026-06-01', 'sql tie' FROM generate_series(1, 4)`,
      [tied.id],
    );
  });
  afterAll(() => h?.close());

  it.each(SORTS)('orders by sort=%s, ties broken by id', async (sort) => {
    const expected = expectedOrder(await liveKeys(sorter.id), sort);
    expect(await ids(sorter, { sort })).toEqual(expected);
  });

  it('sorts by -date when no sort is given', async () => {
    expect(await ids(sorter, {})).toEqual(expectedOrder(await liveKeys(sorter.id), '-date'));
  });

  it.each(['date', '-date', 'amount', '-amount'] as Sort[])(
    'breaks ties of date and amount by id in the direction of sort=%s',
    async (sort) => {
      const got = await ids(admin, { q: 'tie', sort });
      const byId = [...got].sort();
      expect(got).toHaveLength(8);
      expect(got).toEqual(sort.startsWith('-') ? byId.reverse() : byId);
    },
  );

  it.each(['createdAt', '-createdAt'] as Sort[])(
    'breaks ties of createdAt by id in the direction of sort=%s',
    async (sort) => {
      const sqlRows = (await liveKeys(tied.id, 'sql tie')).map((r) => r.id).sort();
      expect(sqlRows).toHaveLength(4);
      const got = await ids(admin, { q: 'tie', sort });
      expect(got.filter((id) => sqlRows.includes(id))).toEqual(
        sort.startsWith('-') ? [...sqlRows].reverse() : sqlRows,
      );
      expect(got).toEqual(expectedOrder(await liveKeys(tied.id), sort));
    },
  );
});
