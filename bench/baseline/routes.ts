/**
 * The baseline's handlers: the benchmarked routes, the product's SQL (sql.ts, dashboard-sql.ts),
 * and the same response bodies. Validation covers only what the routes need to build their
 * queries; anything else the product would accept is a 400 here (see bench/README.md).
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { todayIn } from '../../src/common/dates';
import { ownAnswer } from '../../src/dashboard/dashboard-statements';
import {
  categoriesSql,
  type Form,
  type Interval,
  PERIOD,
  summarySql,
  trendsSql,
} from './dashboard-sql';
import { fromMinor, minorUnits, shareOf, toMinor, totalsIn } from './money';
import {
  type Conversion,
  cursorSql,
  changesSinceSql,
  exactCountSql,
  type Filters,
  findLiveSql,
  insertSql,
  ORG_SCOPE,
  pageSql,
  rollupCountSql,
  rollupsCanCount,
  SORTS,
  type SortKey,
  type SortSpec,
} from './sql';

export interface Principal {
  userId: string;
  role: 'admin' | 'analyst' | 'viewer';
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Row = Record<string, unknown>;
type Query = Map<string, string>;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MONEY = /^\d{1,12}(\.\d{1,2})?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIME_ZONE = process.env.REPORT_TIME_ZONE ?? 'UTC';
const BASE_CURRENCY = (process.env.BASE_CURRENCY ?? 'USD').trim() || 'USD';
/** The product's default reporting currency and rate rule (AppConfig). */
const REPORTING: Conversion = {
  currency: BASE_CURRENCY,
  maxAgeDays: Number(process.env.FX_MAX_AGE_DAYS ?? 7),
  base: BASE_CURRENCY,
};

/** Only `allowed` may appear; a repeated parameter is a 400, as in the product. */
export function readQuery(search: string, allowed: string[]): Query {
  const out: Query = new Map();
  for (const [key, value] of new URLSearchParams(search)) {
    if (!allowed.includes(key)) throw new HttpError(400, `${key} is not supported by the baseline`);
    if (out.has(key)) throw new HttpError(400, `${key} must not repeat`);
    out.set(key, value);
  }
  return out;
}

function int(q: Query, name: string, min: number, max: number, fallback: number): number {
  const raw = q.get(name);
  if (raw === undefined) return fallback;
  const n = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new HttpError(400, `${name} must be ${min}-${max}`);
  return n;
}

function match(q: Query, name: string, pattern: RegExp | string[]): string | undefined {
  const v = q.get(name);
  if (v === undefined) return undefined;
  const ok = Array.isArray(pattern) ? pattern.includes(v) : pattern.test(v);
  if (!ok) throw new HttpError(400, `${name} is invalid`);
  return v;
}

function bounds(q: Query): { from?: string; to?: string } {
  const from = match(q, 'from', DATE);
  const to = match(q, 'to', DATE);
  if (from && to && from > to) throw new HttpError(400, 'from must not be after to');
  return { from, to };
}

/** Lengths count Unicode code points, as the contract measures them. */
function codePoints(text: string, min: number, max: number): boolean {
  const n = [...text].length;
  return n >= min && n <= max;
}

/** The product's `withoutDeletedAt` and `shape`: live lists never show these two. */
function shape({ deletedAt: _d, sortKey: _s, ...rest }: Row): Row {
  return rest;
}

export const LIST_PARAMS = ['type', 'category', 'from', 'to', 'minAmount', 'maxAmount', 'q'];

export class Routes {
  /**
   * The product's exact-count cache, reduced to its core: a total is brought forward with the
   * change log's delta (same two statements as the product); no LRU bound, no shared counts.
   */
  private readonly exactCounts = new Map<string, { snapshot: string; total: number }>();

  /** Prepared statement names by text (see `prepared`). */
  private readonly names = new Map<string, string>();

  constructor(private readonly db: Pool) {}

  async list(actor: Principal, q: Query): Promise<object> {
    const filters: Filters = {
      ownerId: actor.role === 'admin' ? undefined : actor.userId,
      type: match(q, 'type', ['income', 'expense']),
      category: q.get('category')?.trim(),
      ...bounds(q),
      minAmount: match(q, 'minAmount', MONEY),
      maxAmount: match(q, 'maxAmount', MONEY),
      q: q.get('q'),
    };
    if (filters.category !== undefined && !codePoints(filters.category, 1, 64))
      throw new HttpError(400, 'category must be 1-64 characters long');
    if (filters.q !== undefined && filters.q.length > 100)
      throw new HttpError(400, 'q is too long');
    const sortParam = match(q, 'sort', SORTS) ?? '-date';
    const desc = sortParam.startsWith('-');
    const sort: SortSpec = { key: (desc ? sortParam.slice(1) : sortParam) as SortKey, desc };
    const limit = int(q, 'limit', 1, 100, 20);
    const cursor = q.get('cursor');
    if (cursor !== undefined && q.has('page'))
      throw new HttpError(400, 'send either page or cursor, not both');
    if (cursor === undefined) {
      const page = int(q, 'page', 1, 10_000_000, 1);
      const [rows, total] = await Promise.all([
        this.rows(pageSql(filters, sort, limit, (page - 1) * limit)),
        this.count(filters),
      ]);
      const meta = { page, limit, total, totalPages: Math.ceil(total / limit) };
      return { data: rows.map(shape), meta };
    }
    const rows = await this.rows(cursorSql(filters, sort, limit, decodeCursor(cursor, sortParam)));
    const more = rows.length > limit;
    const pageRows = more ? rows.slice(0, limit) : rows;
    const last = pageRows[pageRows.length - 1];
    const nextCursor =
      more && last ? encodeCursor({ s: sortParam, v: last.sortKey, id: last.id }) : null;
    return { data: pageRows.map(shape), meta: { limit, nextCursor } };
  }

  async get(actor: Principal, id: string): Promise<Row> {
    if (!UUID.test(id)) throw new HttpError(400, 'id must be a UUID');
    const [row] = await this.prepared(
      findLiveSql(id, actor.role === 'admin' ? undefined : actor.userId),
    );
    if (!row) throw new HttpError(404, 'Transaction not found');
    return shape(row);
  }

  async create(actor: Principal, body: unknown, ip: string | null): Promise<Row> {
    if (actor.role === 'viewer') throw new HttpError(403, 'Forbidden resource');
    const b = (body ?? {}) as Record<string, unknown>;
    const allowed = ['type', 'amount', 'category', 'date', 'notes'];
    const unknown = Object.keys(b).filter((k) => !allowed.includes(k));
    if (typeof body !== 'object' || body === null || Array.isArray(body) || unknown.length > 0)
      throw new HttpError(400, `the baseline takes only ${allowed.join(', ')}`);
    const category = typeof b.category === 'string' ? b.category.trim() : '';
    const notes = b.notes === undefined || b.notes === null ? null : b.notes;
    if (
      (b.type !== 'income' && b.type !== 'expense') ||
      typeof b.amount !== 'string' ||
      !MONEY.test(b.amount) ||
      !/[1-9]/.test(b.amount) ||
      !codePoints(category, 1, 64) ||
      typeof b.date !== 'string' ||
      !DATE.test(b.date) ||
      (notes !== null && (typeof notes !== 'string' || !codePoints(notes, 0, 1000)))
    )
      throw new HttpError(400, 'Validation failed');
    // In BASE_CURRENCY, as the product books a row without currency or account.
    const values = {
      ownerId: actor.userId,
      type: b.type,
      amount: normalizeMoney(b.amount),
      currency: BASE_CURRENCY,
      category,
      date: b.date,
    };
    // The audit entry's changes, as diff(null, values) builds them (notes only when set).
    const changes: Row = {};
    const after = { ...values, notes };
    for (const [k, v] of Object.entries(after))
      if (v !== null) changes[k] = { before: null, after: v };
    const sql = insertSql(values, notes, {
      actorId: actor.userId,
      changes,
      requestId: randomUUID(),
      ip,
    });
    const [row] = await this.rows(sql);
    if (!row) throw new HttpError(422, 'ownerId must reference an active user');
    return shape(row);
  }

  /** DashboardService.summaryOf(): rounded totals in BASE_CURRENCY, and each currency's own. */
  async summary(actor: Principal, q: Query): Promise<Row> {
    const [row] = await this.inReporting((form) =>
      summarySql(scopeOf(actor), bounds(q), REPORTING, form),
    );
    assertRates([row]);
    const exact = row as { income: string; expenses: string; count: number };
    const byCurrency = row.byCurrency as {
      currency: string;
      income: string;
      expenses: string;
      count: number;
    }[];
    return {
      ...totalsIn(REPORTING.currency, exact),
      byCurrency: byCurrency.map((c) => totalsIn(c.currency, c)),
    };
  }

  /** DashboardService.categoriesOf(): rounded totals, shares of the rounded, largest first. */
  async categories(actor: Principal, q: Query): Promise<Row[]> {
    analystOrAdmin(actor);
    const type = match(q, 'type', ['income', 'expense']);
    const rows = (await this.inReporting((form) =>
      categoriesSql(scopeOf(actor), bounds(q), REPORTING, type, form),
    )) as {
      type: string;
      category: string;
      total: string;
      count: number;
      incomplete: boolean;
    }[];
    assertRates(rows);
    const units = minorUnits(REPORTING.currency);
    const rounded = rows.map((r) => ({ ...r, minor: toMinor(r.total, units) }));
    const typeTotals = new Map<string, bigint>();
    for (const r of rounded) typeTotals.set(r.type, (typeTotals.get(r.type) ?? 0n) + r.minor);
    return rounded
      .sort(
        (a, b) =>
          (b.minor > a.minor ? 1 : b.minor < a.minor ? -1 : 0) ||
          (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) ||
          (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
      )
      .map((r) => ({
        category: r.category,
        currency: REPORTING.currency,
        type: r.type,
        total: fromMinor(r.minor, units),
        count: r.count,
        share: shareOf(r.minor, typeTotals.get(r.type)!),
      }));
  }

  /** DashboardService.trendsFor(): without bounds, from the first period with rows to today. */
  async trends(actor: Principal, q: Query): Promise<Row[]> {
    analystOrAdmin(actor);
    const scope = scopeOf(actor);
    const interval = (match(q, 'interval', Object.keys(PERIOD)) ?? 'month') as Interval;
    const today = todayIn(TIME_ZONE);
    const points = (await this.inReporting((form) =>
      trendsSql(scope, interval, bounds(q), today, REPORTING, form),
    )) as {
      period: string;
      income: string;
      expenses: string;
      incomplete: boolean;
    }[];
    assertRates(points);
    return points.map((p) => {
      const t = totalsIn(REPORTING.currency, { ...p, count: 0 });
      return {
        period: p.period,
        currency: t.currency,
        income: t.totalIncome,
        expenses: t.totalExpenses,
        net: t.netBalance,
      };
    });
  }

  /**
   * DashboardRepository.inReportingCurrency: the reporting currency's own rows answer unless
   * another currency has live rows in range (or nothing came back); then the converting form.
   */
  private async inReporting(
    sql: (form: Form) => { text: string; values: unknown[] },
  ): Promise<Row[]> {
    return ownAnswer(await this.prepared(sql('own'))) ?? this.prepared(sql('converted'));
  }

  private async rows(sql: { text: string; values: unknown[] }): Promise<Row[]> {
    return (await this.db.query<Row>(sql.text, sql.values)).rows;
  }

  /**
   * As the product's prepared reads (src/database/transaction.ts, poolReads): a named statement
   * per text, for the statements whose plan does not depend on their parameters.
   */
  private async prepared(sql: { text: string; values: unknown[] }): Promise<Row[]> {
    let name = this.names.get(sql.text);
    if (name === undefined) this.names.set(sql.text, (name = `read_${this.names.size}`));
    return (await this.db.query<Row>({ name, text: sql.text, values: sql.values })).rows;
  }

  /** Page totals as the product takes them: rollups when they can answer, else the cache. */
  private async count(f: Filters): Promise<number> {
    if (rollupsCanCount(f)) return Number((await this.rows(rollupCountSql(f)))[0].total);
    const key = JSON.stringify([
      f.ownerId,
      f.type,
      f.category,
      f.from,
      f.to,
      f.minAmount,
      f.maxAmount,
      f.q,
    ]);
    const cached = this.exactCounts.get(key);
    if (cached) {
      const [d] = await this.rows(changesSinceSql(f, cached.snapshot));
      if (d.usable === true) {
        const entry = { snapshot: d.snapshot as string, total: cached.total + (d.delta as number) };
        this.exactCounts.set(key, entry);
        return entry.total;
      }
    }
    const [row] = await this.rows(exactCountSql(f));
    const entry = { snapshot: row.snapshot as string, total: row.total as number };
    this.exactCounts.set(key, entry);
    return entry.total;
  }
}

const scopeOf = (actor: Principal) => (actor.role === 'admin' ? ORG_SCOPE : actor.userId);

/** A figure that lacked a rate is a 422, as in the product (without its `missingRates` list). */
function assertRates(rows: Row[]): void {
  if (rows.some((r) => r.incomplete === true))
    throw new HttpError(422, 'exchange rate(s) needed for these figures are missing');
}

function analystOrAdmin(actor: Principal): void {
  if (actor.role === 'viewer') throw new HttpError(403, 'Forbidden resource');
}

/**
 * Unsigned keyset cursor: base64url(JSON {s, v, id}), the body of the product's cursor without
 * its HMAC. A cursor from the product (`body.signature`) is read by its body alone, so the bench
 * can send the same depth cursor to both servers. It is the ceiling: no signature is checked.
 */
function encodeCursor(state: { s: string; v: unknown; id: unknown }): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeCursor(cursor: string, sort: string): { value: string; id: string } | undefined {
  if (cursor === '') return undefined;
  let state: { s?: unknown; v?: unknown; id?: unknown } | undefined;
  try {
    state = JSON.parse(Buffer.from(cursor.split('.')[0], 'base64url').toString('utf8'));
  } catch {
    state = undefined;
  }
  if (typeof state?.v !== 'string' || typeof state.id !== 'string' || !UUID.test(state.id))
    throw new HttpError(400, 'cursor is invalid');
  if (state.s !== sort) throw new HttpError(400, 'cursor belongs to another sort order');
  return { value: state.v, id: state.id };
}

/** src/common/money.ts: `"007.5"` → `"7.50"`, as NUMERIC(14,2) prints it. */
function normalizeMoney(text: string): string {
  const [int, frac = ''] = text.split('.');
  return `${int.replace(/^0+(?=\d)/, '')}.${frac.padEnd(2, '0')}`;
}
