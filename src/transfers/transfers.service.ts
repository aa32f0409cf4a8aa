import {
  ConflictException,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccountsRepository } from '../accounts/accounts.repository';
import { AuditService, diff } from '../audit/audit.service';
import { type Actor, maskTransaction, ownRowsOf, ownWritesOf } from '../common/access';
import { CursorCodec, keysetPage } from '../common/cursor';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import type { FieldIssue } from '../common/problem';
import { dateRangeIssues, invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { EventsService } from '../events/events.service';
import type { CreateTransferDto } from './dto/create-transfer.dto';
import type { ListTransfersDto } from './dto/list-transfers.dto';
import type { TransferListResponse, TransferResponse } from './dto/transfer.response';
import { isJudged, judgeTransfer } from './transfer-rules';
import { type NewTransfer, type TransferKeyset, TransfersRepository } from './transfers.repository';

const AUDITED_FIELDS = [
  'ownerId',
  'fromAccountId',
  'toAccountId',
  'amount',
  'currency',
  'toAmount',
  'toCurrency',
  'rate',
  'date',
  'notes',
] as const;

/**
 * Transfers (docs/api.md, "Transfers"): money moved between two accounts of one owner, neither
 * income nor expense. They live in their own table, so the transaction list, the dashboards and
 * budgets never see them; account balances add them up.
 *
 * The rules of a new transfer are transfer-rules.ts.
 */
@Injectable()
export class TransfersService {
  private readonly cursors: CursorCodec;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: TransfersRepository,
    private readonly accounts: AccountsRepository,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'transfers');
  }

  async create(actor: Actor, dto: CreateTransferDto): Promise<TransferResponse> {
    const fromId = dto.fromAccountId.toLowerCase();
    const toId = dto.toAccountId.toLowerCase();
    return inTransaction(this.db, async (m) => {
      // Shared locks, in id order: an archive or currency change of either account waits for this
      // transfer to commit (or this transfer for it), and two transfers never wait on each other.
      const locked = await this.accounts.lockForBooking(m, [fromId, toId]);
      const judged = judgeTransfer(
        {
          confinedTo: ownWritesOf(actor),
          amount: dto.amount,
          toAmount: dto.toAmount,
          date: dto.date,
          notes: dto.notes,
        },
        locked.get(fromId),
        locked.get(toId),
      );
      if (!isJudged(judged)) {
        if (judged.invalid.length > 0) throw validationProblem(judged.invalid);
        throw unprocessable(judged.unprocessable);
      }
      const values: NewTransfer = judged;
      const row = await this.repo.insert(m, values);
      if (!row) {
        throw unprocessable([
          { field: 'fromAccountId', message: "the accounts' owner is not an active user" },
        ]);
      }
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'transfer.create',
        entityType: 'transfer',
        entityId: row.id,
        changes: diff(null, values, AUDITED_FIELDS),
      });
      await this.events.record(m, { type: 'transfer.created', actorId: actor.id, data: row });
      return row;
    });
  }

  /** Someone else's transfer (for callers confined to their own) and a deleted one are not found. */
  async findOne(actor: Actor, id: string): Promise<TransferResponse> {
    const row = await this.repo.findLive(id, ownRowsOf(actor));
    if (!row) throw new NotFoundException('Transfer not found');
    return maskTransaction(actor, row);
  }

  async list(actor: Actor, q: ListTransfersDto): Promise<TransferListResponse> {
    const range = dateRangeIssues(q.from, q.to);
    if (range.length > 0) throw validationProblem(range);
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    let after: TransferKeyset | undefined;
    if (q.cursor) {
      after = this.cursors.decode<TransferKeyset>(q.cursor);
      if (!after || typeof after.d !== 'string' || typeof after.id !== 'string')
        throw invalidCursor();
    }
    const rows = await this.repo.list(
      { ownerId: ownRowsOf(actor), accountId: q.accountId?.toLowerCase(), from: q.from, to: q.to },
      limit,
      after,
    );
    const page = keysetPage(rows, limit, this.cursors, (last) => ({ d: last.date, id: last.id }));
    return {
      data: page.rows.map((row) => maskTransaction(actor, row)),
      meta: { limit, nextCursor: page.nextCursor },
    };
  }

  /** Soft delete (admin): both legs leave the balances together. A second delete is a 404. */
  async remove(actor: Actor, id: string): Promise<void> {
    await inTransaction(this.db, async (m) => {
      const row = await this.repo.softDelete(m, id);
      if (!row) throw new NotFoundException('Transfer not found');
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'transfer.delete',
        entityType: 'transfer',
        entityId: id,
        changes: { deletedAt: { before: null, after: row.deletedAt } },
      });
      await this.events.record(m, { type: 'transfer.deleted', actorId: actor.id, data: row });
    });
  }

  /**
   * Undo a soft delete (admin). The transfer comes back as it was, even if an account has been
   * archived since: archiving stops new bookings, not the history.
   */
  async restore(actor: Actor, id: string): Promise<TransferResponse> {
    return inTransaction(this.db, async (m) => {
      const row = await this.repo.restore(m, id);
      if (!row) {
        if (await this.repo.exists(m, id))
          throw new ConflictException('The transfer is not deleted');
        throw new NotFoundException('Transfer not found');
      }
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'transfer.restore',
        entityType: 'transfer',
        entityId: id,
        changes: { deletedAt: { before: 'deleted', after: null } },
      });
      await this.events.record(m, { type: 'transfer.restored', actorId: actor.id, data: row });
      return row;
    });
  }
}

function unprocessable(errors: FieldIssue[]): UnprocessableEntityException {
  return new UnprocessableEntityException({
    message: errors.map((e) => e.message).join('; '),
    errors,
  });
}
