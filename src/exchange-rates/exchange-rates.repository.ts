import { Injectable } from '@nestjs/common';
import type { Writable } from 'node:stream';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ReadRouting } from '../database/replicas/read-routing';
import { Params, type Queryable, query } from '../database/sql';
import type { ExchangeRateKeyDto } from './dto/exchange-rate-key.dto';
import type { ExchangeRateResponse } from './dto/exchange-rate.response';
import type { ListExchangeRatesDto } from './dto/list-exchange-rates.dto';

/** Where the previous page ended: the list's sort key of its last row. */
export interface RateKeyset {
  base: string;
  quote: string;
  date: string;
}

/** An upsert's outcome: the row as stored, and the rate it replaced (null when it created it). */
export interface UpsertedRate {
  item: ExchangeRateResponse;
  before: string | null;
}

const ITEM = `base, quote, date::text AS date, rate::text AS rate`;

/** All SQL of the exchange-rates feature. */
@Injectable()
export class ExchangeRatesRepository {
  constructor(private readonly reads: ReadRouting) {}

  /**
   * Inserts or replaces one rate, inside the caller's transaction (its audit entry commits with
   * it). Exact under concurrent writes to the same key: the insert waits for a competing insert
   * to settle, and the replaced rate is read under the row lock, so `before` is the rate this
   * write really replaced. A row deleted between the steps is inserted again.
   */
  async upsert(db: Queryable, key: ExchangeRateKeyDto, rate: string): Promise<UpsertedRate> {
    const k = [key.base, key.quote, key.date];
    for (;;) {
      const [inserted] = await query<ExchangeRateResponse>(
        db,
        `INSERT INTO exchange_rates (base, quote, date, rate) VALUES ($1, $2, $3::date, $4::numeric)
         ON CONFLICT (base, quote, date) DO NOTHING RETURNING ${ITEM}`,
        [...k, rate],
      );
      if (inserted) return { item: inserted, before: null };
      const [locked] = await query<{ rate: string }>(
        db,
        `SELECT rate::text AS rate FROM exchange_rates
         WHERE base = $1 AND quote = $2 AND date = $3::date FOR UPDATE`,
        k,
      );
      if (!locked) continue;
      const [item] = await query<ExchangeRateResponse>(
        db,
        `UPDATE exchange_rates SET rate = $4::numeric, updated_at = now()
         WHERE base = $1 AND quote = $2 AND date = $3::date RETURNING ${ITEM}`,
        [...k, rate],
      );
      return { item, before: locked.rate };
    }
  }

  /** Deletes one rate; its rate, or undefined when there was none. */
  async delete(db: Queryable, key: ExchangeRateKeyDto): Promise<string | undefined> {
    const [row] = await query<{ rate: string }>(
      db,
      `DELETE FROM exchange_rates WHERE base = $1 AND quote = $2 AND date = $3::date
       RETURNING rate::text AS rate`,
      [key.base, key.quote, key.date],
    );
    return row?.rate;
  }

  /**
   * An import's staging table, private to the transaction (dropped at its end): the file's rows
   * with their ordinal, streamed in by `copyIn` and merged by `mergeStaged`.
   */
  async createStaging(client: PoolClient): Promise<void> {
    await client.query(
      `CREATE TEMP TABLE exchange_rate_import (ordinal int, base char(3), quote char(3), date date, rate numeric)
       ON COMMIT DROP`,
    );
  }

  copyIn(client: PoolClient): Writable {
    return client.query(
      copyFrom(
        'COPY exchange_rate_import (ordinal, base, quote, date, rate) FROM STDIN WITH (FORMAT csv)',
      ),
    );
  }

  /**
   * Upserts the staged rows in one statement; of a key staged more than once, the row of the
   * highest ordinal (the file's last) wins, since one INSERT may not touch a row twice. Counts the
   * rates it created; the other distinct keys replaced one.
   */
  async mergeStaged(client: PoolClient): Promise<{ written: number; created: number }> {
    const [counts] = await query<{ written: number; created: number }>(
      client,
      `WITH written AS (
         INSERT INTO exchange_rates (base, quote, date, rate)
         SELECT DISTINCT ON (base, quote, date) base, quote, date, rate FROM exchange_rate_import
         ORDER BY base, quote, date, ordinal DESC
         ON CONFLICT (base, quote, date) DO UPDATE SET rate = EXCLUDED.rate, updated_at = now()
         RETURNING xmax = 0 AS inserted
       )
       SELECT count(*)::int AS written, count(*) FILTER (WHERE inserted)::int AS created FROM written`,
    );
    return counts;
  }

  /**
   * Sorted by base, then quote, then date newest first; `after` continues strictly past the last
   * row of the previous page. The primary key (base, quote, date) serves the filters and the
   * order (an incremental sort of each pair's dates).
   */
  async list(
    f: ListExchangeRatesDto,
    limit: number,
    after?: RateKeyset,
  ): Promise<ExchangeRateResponse[]> {
    const params = new Params();
    const where: string[] = [];
    if (f.base) where.push(`base = ${params.p(f.base)}`);
    if (f.quote) where.push(`quote = ${params.p(f.quote)}`);
    if (f.from) where.push(`date >= ${params.p(f.from)}::date`);
    if (f.to) where.push(`date <= ${params.p(f.to)}::date`);
    if (after) {
      const [b, q, d] = [params.p(after.base), params.p(after.quote), params.p(after.date)];
      // Mixed directions (pair ascending, date descending), so not one row comparison; the first
      // condition lets the index seek to the pair instead of filtering every row before it.
      where.push(
        `(base, quote) >= (${b}, ${q}) AND ((base, quote) > (${b}, ${q}) OR date < ${d}::date)`,
      );
    }
    return query(
      await this.reads.reader(),
      `SELECT ${ITEM} FROM exchange_rates ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY base, quote, date DESC LIMIT ${params.p(limit + 1)}`,
      params.values,
    );
  }
}
