import {
  ConflictException,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type BookingAccount, AccountsRepository } from '../accounts/accounts.repository';
import { AuditService, diff } from '../audit/audit.service';
import { type Actor, maskTransaction, ownRowsOf, ownWritesOf } from '../common/access';
import { minorUnits, minorUnitsRule } from '../common/currencies';
import { CursorCodec, keysetPage } from '../common/cursor';
import { fitsMinorUnits, formatMoney, ratio, sameMoney } from '../common/money';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import type { FieldIssue } from '../common/problem';
import { dateRangeIssues, invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { EventsService } from '../events/events.service';
import type { CreateTransferDto } from './dto/create-transfer.dto';
import type { ListTransfersDto } from './dto/list-transfers.dto';
import type { TransferListResponse, TransferResponse } from './dto/transfer.response';
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

/** Decimals of a transfer's rate (docs/api.md, "Transfers"). */
const RATE_DECIMALS = 10;

type Leg = 'fromAccountId' | 'toAccountId';

/**
 * Transfers (docs/api.md, "Transfers"): money moved between two accounts of one owner, neither
 * income nor expense. They live in their own table, so the transaction list, the dashboards and
 * budgets never see them; account balances add them up.
 *
 * An analyst naming someone else's account gets the same 422 as for an account that does not
 * exist: whether it exists is not the analyst's to learn.
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
    if (fromId === toId) {
      throw unprocessable([
        { field: 'toAccountId', message: 'toAccountId must be another account than fromAccountId' },
      ]);
    }
    return inTransaction(this.db, async (m) => {
      const source = await this.accounts.findForBooking(m, fromId);
      const target = await this.accounts.findForBooking(m, toId);
      const values = this.judge(actor, dto, source, target);
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

  /**
   * The rules of a new transfer: two usable accounts of one owner (422 naming the field), amounts
   * that fit their currencies (400), and `toAmount` as the currencies require (422).
   */
  private judge(
    actor: Actor,
    dto: CreateTransferDto,
    source: BookingAccount | undefined,
    target: BookingAccount | undefined,
  ): NewTransfer {
    const mine = ownWritesOf(actor);
    const issues: FieldIssue[] = [];
    const usable = (leg: Leg, account: BookingAccount | undefined): account is BookingAccount => {
      if (!account || (mine !== undefined && account.ownerId !== mine)) {
        issues.push({
          field: leg,
          message: `${leg} must name ${mine === undefined ? 'an existing account' : 'one of your accounts'}`,
        });
        return false;
      }
      if (account.archived) {
        issues.push({ field: leg, message: `${leg} names an archived account` });
        return false;
      }
      return true;
    };
    const sourceOk = usable('fromAccountId', source);
    const targetOk = usable('toAccountId', target);
    if (!sourceOk || !targetOk) throw unprocessable(issues);
    if (source.ownerId !== target.ownerId) {
      throw unprocessable([
        {
          field: 'toAccountId',
          message: 'toAccountId must belong to the owner of fromAccountId',
        },
      ]);
    }

    const invalid: FieldIssue[] = [];
    const fromUnits = minorUnits(source.currency);
    const toUnits = minorUnits(target.currency);
    if (!fitsMinorUnits(dto.amount, fromUnits))
      invalid.push({ field: 'amount', message: `amount: ${minorUnitsRule(source.currency)}` });
    if (dto.toAmount !== undefined && !fitsMinorUnits(dto.toAmount, toUnits))
      invalid.push({ field: 'toAmount', message: `toAmount: ${minorUnitsRule(target.currency)}` });
    if (invalid.length > 0) throw validationProblem(invalid);

    const amount = formatMoney(dto.amount, fromUnits);
    let toAmount: string;
    if (source.currency === target.currency) {
      if (dto.toAmount !== undefined && !sameMoney(dto.toAmount, dto.amount)) {
        throw unprocessable([
          {
            field: 'toAmount',
            message: `both accounts are in ${source.currency}: omit toAmount or send it equal to amount`,
          },
        ]);
      }
      toAmount = amount;
    } else {
      if (dto.toAmount === undefined) {
        throw unprocessable([
          {
            field: 'toAmount',
            message: `toAmount (in ${target.currency}) is required when the currencies differ`,
          },
        ]);
      }
      toAmount = formatMoney(dto.toAmount, toUnits);
    }
    return {
      ownerId: source.ownerId,
      fromAccountId: source.id,
      toAccountId: target.id,
      amount,
      currency: source.currency,
      toAmount,
      toCurrency: target.currency,
      rate: ratio(toAmount, amount, RATE_DECIMALS),
      date: dto.date,
      notes: dto.notes ?? null,
    };
  }
}

function unprocessable(errors: FieldIssue[]): UnprocessableEntityException {
  return new UnprocessableEntityException({
    message: errors.map((e) => e.message).join('; '),
    errors,
  });
}
