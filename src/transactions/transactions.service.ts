import {
  ConflictException,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService, diff } from '../audit/audit.service';
import { maskTransaction, ownRowsOf, writeOwner } from '../common/access';
import { touchedUser } from '../common/request-context';
import { assertIfMatch } from '../common/etag';
import { AccountsRepository } from '../accounts/accounts.repository';

import { validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { EventsService } from '../events/events.service';
import { purgeRows } from '../database/purge';
import { Params, type Queryable } from '../database/sql';
import { inTransaction } from '../database/transaction';
import type { KeyedClaim } from '../idempotency/idempotency.interceptor';
import { IdempotencyService } from '../idempotency/idempotency.service';
import type { User } from '../users/entities/user.entity';
import type { CreateTransactionDto } from './dto/create-transaction.dto';
import {
  type TransactionResponse,
  transactionPath,
  withoutDeletedAt,
} from './dto/transaction.response';
import type { UpdateTransactionDto } from './dto/update-transaction.dto';
import { type Booked, book, bookedOrThrow, type BookingInput, type BookingIssues } from './booking';
import {
  type EditableFields,
  type NewTransaction,
  TransactionsRepository,
} from './transactions.repository';

const AUDITED_FIELDS = [
  'ownerId',
  'accountId',
  'type',
  'amount',
  'currency',
  'category',
  'date',
  'notes',
] as const;

/** Judges one import row's money (booking.ts). */
export type ImportBooking = (row: CreateTransactionDto) => Booked | BookingIssues;

/** Writes and single rows; the list is TransactionListService's. */
@Injectable()
export class TransactionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: TransactionsRepository,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly keys: IdempotencyService,
    private readonly accounts: AccountsRepository,
    private readonly config: AppConfig,
  ) {}

  /** The money rules of a row about to be written (booking.ts), with its account looked up. */
  async book(db: Queryable, input: BookingInput): Promise<Booked> {
    const account =
      input.accountId === null
        ? undefined
        : await this.accounts.findForBooking(db, input.accountId);
    return bookedOrThrow(book(input, account, this.config.baseCurrency));
  }

  /**
   * Writes the row, its audit entry and its event in one statement, so they commit together.
   * With an Idempotency-Key the stored response joins them in one transaction: a request that
   * dies leaves either all of them or none.
   */
  async create(
    actor: User,
    dto: CreateTransactionDto,
    claim?: KeyedClaim,
  ): Promise<TransactionResponse> {
    const ownerId = writeOwner(actor, dto.ownerId);
    const money = await this.book(this.db, bookingInput(ownerId, dto));
    const values = newTransaction(ownerId, dto, money);
    const write = async (db: Queryable) => {
      const [row] = await this.insert(db, actor, [values]);
      if (!row) throw inactiveOwner();
      return row;
    };
    // Without a key, the hottest write stays one round trip instead of BEGIN, INSERT and COMMIT.
    if (!claim) return write(this.db);
    return inTransaction(this.db, async (m) => {
      const row = await write(m);
      await this.keys.complete(m, claim, claim.hash, {
        status: 201,
        body: row,
        location: transactionPath(row.id),
      });
      return row;
    });
  }

  /**
   * Inserts booked rows with their audit entries and events, in one statement however many; the
   * answer lines up with `rows`, undefined where the owner is not an active user.
   */
  async insert(
    db: Queryable,
    actor: User,
    rows: readonly NewTransaction[],
  ): Promise<(TransactionResponse | undefined)[]> {
    // The events are written by the INSERT itself (createdFrom), not through EventsService.record.
    for (const row of rows) touchedUser(row.ownerId);
    const withChanges = rows.map((values) => ({
      ...values,
      changes: diff(null, values, AUDITED_FIELDS),
    }));
    const inserted = await this.repo.insert(db, withChanges, (params, source) => [
      this.audit.insertFrom(params, source, {
        actorId: actor.id,
        action: 'transaction.create',
        entityType: 'transaction',
      }),
      this.events.createdFrom(params, source, actor.id),
    ]);
    return inserted.map((row) => row && withoutDeletedAt(row));
  }

  /** Someone else's row and a deleted row are both simply not found. */
  async findOne(actor: User, id: string): Promise<TransactionResponse> {
    const row = await this.repo.findLive(id, ownRowsOf(actor));
    if (!row) throw new NotFoundException('Transaction not found');
    return maskTransaction(actor, withoutDeletedAt(row));
  }

  /** Partial update under a row lock; a stale `If-Match` is a 412, so concurrent edits cannot both win. */
  async update(
    actor: User,
    id: string,
    dto: UpdateTransactionDto,
    ifMatch?: string,
  ): Promise<TransactionResponse> {
    const fields = editableFields(dto);
    return inTransaction(this.db, (m) => this.updateIn(m, actor, id, fields, ifMatch));
  }

  /** `update` inside the caller's transaction (a batch), with the fields `editableFields` gave. */
  async updateIn(
    m: EntityManager,
    actor: User,
    id: string,
    fields: EditableFields,
    ifMatch?: string,
  ): Promise<TransactionResponse> {
    const before = await this.repo.lockLive(id, m);
    if (!before) throw new NotFoundException('Transaction not found');
    assertIfMatch(ifMatch, withoutDeletedAt(before));
    const changed = { ...fields };
    if (
      changed.amount !== undefined ||
      changed.currency !== undefined ||
      changed.accountId !== undefined
    ) {
      // The currency never follows a new account silently: a mismatch is a 422.
      const money = await this.book(m, {
        ownerId: before.ownerId,
        amount: changed.amount ?? before.amount,
        amountStored: changed.amount === undefined,
        currency: changed.currency ?? before.currency,
        accountId: changed.accountId === undefined ? before.accountId : changed.accountId,
      });
      Object.assign(changed, money);
    }
    const after = withoutDeletedAt((await this.repo.update(id, changed, m))!);
    await this.audit.record(m, {
      actorId: actor.id,
      action: 'transaction.update',
      entityType: 'transaction',
      entityId: id,
      changes: diff(before, after, AUDITED_FIELDS),
    });
    await this.events.record(m, { type: 'transaction.updated', actorId: actor.id, data: after });
    return after;
  }

  async remove(actor: User, id: string): Promise<void> {
    await inTransaction(this.db, (m) => this.removeIn(m, actor, id));
  }

  async removeIn(m: EntityManager, actor: User, id: string): Promise<void> {
    const row = await this.repo.softDelete(id, m);
    if (!row) throw new NotFoundException('Transaction not found');
    await this.audit.record(m, {
      actorId: actor.id,
      action: 'transaction.delete',
      entityType: 'transaction',
      entityId: id,
      changes: { deletedAt: { before: null, after: row.deletedAt } },
    });
    await this.events.record(m, { type: 'transaction.deleted', actorId: actor.id, data: row });
  }

  /** Deletes for good (docs/api.md section 17), live or soft-deleted; the trash purge's SQL. */
  async purge(actor: User, id: string): Promise<void> {
    const params = new Params();
    const pick = `SELECT id FROM transactions WHERE id = ${params.p(id)} FOR UPDATE`;
    const [row] = await purgeRows(this.db, params, 'transactions', pick, (p, source) => [
      this.audit.insertFrom(p, source, {
        actorId: actor.id,
        action: 'transaction.purge',
        entityType: 'transaction',
      }),
      this.events.purgedFrom(p, source, 'transaction.purged', actor.id),
    ]);
    if (!row) throw new NotFoundException('Transaction not found');
    touchedUser(row.ownerId);
  }

  async restore(actor: User, id: string): Promise<TransactionResponse> {
    return inTransaction(this.db, (m) => this.restoreIn(m, actor, id));
  }

  async restoreIn(m: EntityManager, actor: User, id: string): Promise<TransactionResponse> {
    const row = await this.repo.restore(id, m);
    if (!row) {
      if (await this.repo.exists(id, m))
        throw new ConflictException('The transaction is not deleted');
      throw new NotFoundException('Transaction not found');
    }
    await this.audit.record(m, {
      actorId: actor.id,
      action: 'transaction.restore',
      entityType: 'transaction',
      entityId: id,
      changes: { deletedAt: { before: 'deleted', after: null } },
    });
    const restored = withoutDeletedAt(row);
    await this.events.record(m, {
      type: 'transaction.restored',
      actorId: actor.id,
      data: restored,
    });
    return restored;
  }

  /**
   * The money rules for an import's rows (booking.ts), judged without a query per row: the
   * owner's accounts are read once. The foreign key still guards an account changed meanwhile.
   */
  async importBooking(ownerId: string): Promise<ImportBooking> {
    const accounts = new Map((await this.accounts.ownedBy(this.db, ownerId)).map((a) => [a.id, a]));
    return (row) => {
      const accountId = row.accountId?.toLowerCase() ?? null;
      const account = accountId === null ? undefined : accounts.get(accountId);
      return book(bookingInput(ownerId, row), account, this.config.baseCurrency);
    };
  }

  /** Imports write through COPY, which cannot check the owner row by row as a create does. */
  async assertActiveOwner(ownerId: string): Promise<void> {
    if (!(await this.repo.isActiveUser(ownerId))) throw inactiveOwner();
  }
}

export const inactiveOwner = () =>
  new UnprocessableEntityException('ownerId must reference an active user');

/** The money of a new row as booking.ts judges it. */
export const bookingInput = (ownerId: string, dto: CreateTransactionDto): BookingInput => ({
  ownerId,
  amount: dto.amount,
  currency: dto.currency,
  accountId: dto.accountId?.toLowerCase() ?? null,
});

/** The row a create writes, once its owner is settled and its money booked. */
export const newTransaction = (
  ownerId: string,
  dto: CreateTransactionDto,
  money: Booked,
): NewTransaction => ({
  ownerId,
  ...money,
  type: dto.type,
  category: dto.category,
  date: dto.date,
  notes: dto.notes ?? null,
});

/** What a PATCH asks to change; a body that changes nothing is a 400. */
export function editableFields(dto: UpdateTransactionDto): EditableFields {
  const fields: EditableFields = {
    type: dto.type,
    amount: dto.amount,
    currency: dto.currency,
    accountId: dto.accountId === undefined ? undefined : (dto.accountId?.toLowerCase() ?? null),
    category: dto.category,
    date: dto.date,
    notes: dto.notes,
  };
  if (Object.values(fields).every((v) => v === undefined)) {
    throw validationProblem([
      {
        field: 'body',
        message: 'send at least one of type, amount, currency, accountId, category, date, notes',
      },
    ]);
  }
  return fields;
}
