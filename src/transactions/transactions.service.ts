import {
  ConflictException,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, diff } from '../audit/audit.service';
import { maskTransaction, ownRowsOf, writeOwner } from '../common/access';
import { touchedUser } from '../common/request-context';
import { assertIfMatch } from '../common/etag';
import { AccountsRepository } from '../accounts/accounts.repository';

import { validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { EventsService } from '../events/events.service';
import type { Queryable } from '../database/sql';
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
   * Writes the row and its audit entry in one statement, so they commit together. With an
   * Idempotency-Key the stored response joins them in one transaction: a request that dies
   * leaves either all three or none.
   */
  async create(
    actor: User,
    dto: CreateTransactionDto,
    claim?: KeyedClaim,
  ): Promise<TransactionResponse> {
    const ownerId = writeOwner(actor, dto.ownerId);
    // The event is written by the INSERT itself (createdFrom), not through EventsService.record.
    touchedUser(ownerId);
    const money = await this.book(this.db, {
      ownerId,
      amount: dto.amount,
      currency: dto.currency,
      accountId: dto.accountId?.toLowerCase() ?? null,
    });
    const values: NewTransaction = {
      ownerId,
      ...money,
      type: dto.type,
      category: dto.category,
      date: dto.date,
      notes: dto.notes ?? null,
    };
    const write = async (db: Queryable) => {
      const row = await this.repo.insert(db, values, (params, inserted) => [
        this.audit.insertFrom(params, inserted, {
          actorId: actor.id,
          action: 'transaction.create',
          entityType: 'transaction',
          changes: diff(null, values, AUDITED_FIELDS),
        }),
        this.events.createdFrom(params, inserted, actor.id),
      ]);
      if (!row) throw new UnprocessableEntityException('ownerId must reference an active user');
      return withoutDeletedAt(row);
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
    return inTransaction(this.db, async (m) => {
      const before = await this.repo.lockLive(id, m);
      if (!before) throw new NotFoundException('Transaction not found');
      assertIfMatch(ifMatch, withoutDeletedAt(before));
      if (
        fields.amount !== undefined ||
        fields.currency !== undefined ||
        fields.accountId !== undefined
      ) {
        // The currency never follows a new account silently: a mismatch is a 422.
        const money = await this.book(m, {
          ownerId: before.ownerId,
          amount: fields.amount ?? before.amount,
          amountStored: fields.amount === undefined,
          currency: fields.currency ?? before.currency,
          accountId: fields.accountId === undefined ? before.accountId : fields.accountId,
        });
        Object.assign(fields, money);
      }
      const after = withoutDeletedAt((await this.repo.update(id, fields, m))!);
      const changes = diff(before, after, AUDITED_FIELDS);
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'transaction.update',
        entityType: 'transaction',
        entityId: id,
        changes,
      });
      await this.events.record(m, { type: 'transaction.updated', actorId: actor.id, data: after });
      return after;
    });
  }

  async remove(actor: User, id: string): Promise<void> {
    await inTransaction(this.db, async (m) => {
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
    });
  }

  async restore(actor: User, id: string): Promise<TransactionResponse> {
    return inTransaction(this.db, async (m) => {
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
    });
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
      const input = { ownerId, amount: row.amount, currency: row.currency, accountId };
      return book(input, account, this.config.baseCurrency);
    };
  }

  /** Imports write through COPY, which cannot check the owner row by row as a create does. */
  async assertActiveOwner(ownerId: string): Promise<void> {
    if (!(await this.repo.isActiveUser(ownerId)))
      throw new UnprocessableEntityException('ownerId must reference an active user');
  }
}
