import { Injectable } from '@nestjs/common';
import { assertMayNarrow, maskTransaction, masksOthersNotes, ownRowsOf } from '../common/access';
import { minorUnitsIssue } from '../common/currencies';
import { CursorCodec, keysetPage } from '../common/cursor';
import { compareMoney } from '../common/money';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import type { FieldIssue } from '../common/problem';
import { dateRangeIssues, invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import type { User } from '../users/entities/user.entity';
import type { ListTransactionsDto, Sort, TransactionFiltersDto } from './dto/list-transactions.dto';
import { type TransactionResponse, withoutDeletedAt } from './dto/transaction.response';
import { type Keyset, parseSort, type ResolvedFilters } from './transaction-list.repository';
import { TransactionsRepository } from './transactions.repository';

interface CursorState {
  s: Sort;
  v: string;
  id: string;
}

export type TransactionList =
  | { mode: 'page'; rows: TransactionResponse[]; page: number; limit: number; total: number }
  | { mode: 'cursor'; rows: TransactionResponse[]; limit: number; nextCursor: string | null };

/** The list of transactions: the filters under the role rules, pages with totals, and cursors. */
@Injectable()
export class TransactionListService {
  private readonly cursors: CursorCodec;

  constructor(
    private readonly repo: TransactionsRepository,
    config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'transactions');
  }

  async list(actor: User, query: ListTransactionsDto): Promise<TransactionList> {
    const filters = this.resolveFilters(actor, query);
    const sort = parseSort(query.sort ?? '-date');
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    if (query.cursor !== undefined && query.page !== undefined) {
      throw validationProblem([
        { field: 'cursor', message: 'send either page or cursor, not both' },
      ]);
    }
    if (query.cursor === undefined) {
      const page = query.page ?? 1;
      const { rows, total } = await this.repo.page(filters, sort, limit, (page - 1) * limit);
      return {
        mode: 'page',
        rows: rows.map((r) => this.shape(actor, r, filters)),
        page,
        limit,
        total,
      };
    }
    const after =
      query.cursor === '' ? undefined : this.decodeCursor(query.cursor, query.sort ?? '-date');
    const rows = await this.repo.cursorPage(filters, sort, limit, after);
    const page = keysetPage(rows, limit, this.cursors, (last): CursorState => ({
      s: query.sort ?? '-date',
      v: last.sortKey,
      id: last.id,
    }));
    return {
      mode: 'cursor',
      rows: page.rows.map((r) => this.shape(actor, r, filters)),
      limit,
      nextCursor: page.nextCursor,
    };
  }

  /** Applies the role rules and cross-field checks shared by the list and the export. */
  resolveFilters(actor: User, f: TransactionFiltersDto): ResolvedFilters {
    assertMayNarrow(
      actor,
      (['ownerId', 'deleted'] as const).filter((name) => f[name] !== undefined),
    );
    const issues: FieldIssue[] = dateRangeIssues(f.from, f.to);
    if (f.minAmount && f.maxAmount && compareMoney(f.minAmount, f.maxAmount) > 0) {
      issues.push({ field: 'minAmount', message: 'minAmount must not exceed maxAmount' });
    }
    // With a currency, a bound has that currency's format, as an amount would.
    for (const field of ['minAmount', 'maxAmount'] as const) {
      const bound = f[field];
      const misfit = f.currency && bound && minorUnitsIssue(field, bound, f.currency);
      if (misfit) issues.push(misfit);
    }
    if (issues.length > 0) throw validationProblem(issues);
    const { sort: _sort, deleted, ...rest } = f;
    return {
      ...rest,
      ownerId: ownRowsOf(actor) ?? f.ownerId,
      deleted: deleted ?? 'exclude',
      ...(masksOthersNotes(actor) ? { notesHidden: true as const } : {}),
    };
  }

  private decodeCursor(cursor: string, sort: Sort): Keyset {
    const state = this.cursors.decode<CursorState>(cursor);
    if (!state || typeof state.v !== 'string' || typeof state.id !== 'string') {
      throw invalidCursor();
    }
    if (state.s !== sort) {
      throw invalidCursor('cursor belongs to another sort order; start again with cursor=');
    }
    return { value: state.v, id: state.id };
  }

  /** `deletedAt` is shown only when the caller asked to see deleted rows. */
  private shape(
    reader: User,
    row: TransactionResponse & { sortKey?: string },
    filters: ResolvedFilters,
  ): TransactionResponse {
    const { sortKey: _sortKey, ...rest } = row;
    return maskTransaction(reader, filters.deleted === 'exclude' ? withoutDeletedAt(rest) : rest);
  }
}
