import { Params } from '../database/sql';
import { afterKeysetSql, filterSql, orderBySql, parseSort } from './transaction-list.repository';

describe('transaction filter SQL', () => {
  it('puts every request value in a parameter, never in the SQL text', () => {
    const params = new Params();
    const hostile = "x'; DROP TABLE transactions; --";
    const sql = filterSql(
      {
        deleted: 'exclude',
        ownerId: hostile,
        type: 'expense',
        category: hostile,
        from: '2026-01-01',
        to: '2026-12-31',
        minAmount: '1.00',
        maxAmount: '9.99',
        q: '50%_off\\',
      },
      params,
    );
    expect(sql).not.toContain('DROP');
    expect(sql).not.toContain('2026');
    expect(sql).toBe(
      't.deleted_at IS NULL AND t.owner_id = $1 AND t.type = $2 AND lower(t.category) = lower($3)' +
        ' AND t.date >= $4 AND t.date <= $5 AND t.amount >= $6 AND t.amount <= $7' +
        ' AND (t.category ILIKE $8 OR t.notes ILIKE $8)',
    );
    // LIKE wildcards in the search text match themselves.
    expect(params.values).toEqual([
      hostile,
      'expense',
      hostile,
      '2026-01-01',
      '2026-12-31',
      '1.00',
      '9.99',
      '%50\\%\\_off\\\\%',
    ]);
  });

  it('filters nothing when no filter is set, and only deleted rows for deleted=only', () => {
    expect(filterSql({ deleted: 'include' }, new Params())).toBe('true');
    expect(filterSql({ deleted: 'only' }, new Params())).toBe('t.deleted_at IS NOT NULL');
  });

  it('orders by the allow-listed column with the id as tie-breaker in the same direction', () => {
    expect(orderBySql(parseSort('-date'))).toBe('ORDER BY t.date DESC, t.id DESC');
    expect(orderBySql(parseSort('amount'))).toBe('ORDER BY t.amount ASC, t.id ASC');
    expect(orderBySql(parseSort('-createdAt'))).toBe('ORDER BY t.created_at DESC, t.id DESC');
  });

  it('continues a keyset strictly after the last row, in the sort direction', () => {
    const params = new Params();
    expect(afterKeysetSql(parseSort('-amount'), { value: '10.00', id: 'i' }, params)).toBe(
      '(t.amount, t.id) < ($1::numeric, $2::uuid)',
    );
    expect(afterKeysetSql(parseSort('date'), { value: '2026-01-01', id: 'j' }, params)).toBe(
      '(t.date, t.id) > ($3::date, $4::uuid)',
    );
    expect(params.values).toEqual(['10.00', 'i', '2026-01-01', 'j']);
  });
});
