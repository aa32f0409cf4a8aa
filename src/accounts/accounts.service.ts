import {
  ConflictException,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, diff } from '../audit/audit.service';
import { type Actor, assertMayNarrow, ownRowsOf, ownWritesOf, writeOwner } from '../common/access';
import { minorUnits, minorUnitsIssue, minorUnitsRule } from '../common/currencies';
import { CursorCodec, keysetPage } from '../common/cursor';
import { assertIfMatch } from '../common/etag';
import { formatMoney, keepsValueIn } from '../common/money';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import type { Queryable } from '../database/sql';
import { inTransaction } from '../database/transaction';
import { EventsService } from '../events/events.service';
import {
  type AccountChanges,
  type AccountKeyset,
  AccountsRepository,
  type AccountWithSums,
  type NewAccount,
} from './accounts.repository';
import type {
  AccountBalanceResponse,
  AccountListResponse,
  AccountResponse,
} from './dto/account.response';
import type { CreateAccountDto } from './dto/create-account.dto';
import type { ListAccountsDto } from './dto/list-accounts.dto';
import type { UpdateAccountDto } from './dto/update-account.dto';

const AUDITED_FIELDS = [
  'ownerId',
  'name',
  'type',
  'currency',
  'openingBalance',
  'openingDate',
  'archived',
] as const;

/** Today's calendar date in UTC: the default opening date and the day balances are taken on. */
const todayUtc = () => new Date().toISOString().slice(0, 10);

/**
 * Accounts (docs/api.md, "Accounts"): an owner's place where money sits, in one currency. Its
 * balance is never stored: it is summed from the live rows booked to it whenever it is read.
 */
@Injectable()
export class AccountsService {
  private readonly cursors: CursorCodec;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: AccountsRepository,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'accounts');
  }

  async create(actor: Actor, dto: CreateAccountDto): Promise<AccountResponse> {
    const ownerId = writeOwner(actor, dto.ownerId);
    const units = minorUnits(dto.currency);
    const opening = dto.openingBalance ?? '0';
    const misfit = minorUnitsIssue('openingBalance', opening, dto.currency);
    if (misfit) throw validationProblem([misfit]);
    const values: NewAccount = {
      ownerId,
      name: dto.name,
      type: dto.type,
      currency: dto.currency,
      openingBalance: formatMoney(opening, units),
      openingDate: dto.openingDate ?? todayUtc(),
    };
    return inTransaction(this.db, async (m) => {
      const row = await this.repo.insert(m, values);
      if (!row) throw new UnprocessableEntityException('ownerId must reference an active user');
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'account.create',
        entityType: 'account',
        entityId: row.id,
        changes: diff(null, row, AUDITED_FIELDS),
      });
      const body = await this.body(m, row.id);
      await this.events.record(m, { type: 'account.created', actorId: actor.id, data: body });
      return body;
    });
  }

  /** Someone else's account is simply not found (for callers confined to their own). */
  async findOne(actor: Actor, id: string): Promise<AccountResponse> {
    const row = await this.repo.findWithSums(id, todayUtc(), ownRowsOf(actor));
    if (!row) throw new NotFoundException('Account not found');
    return presentAccount(row);
  }

  async balance(actor: Actor, id: string, asOf = todayUtc()): Promise<AccountBalanceResponse> {
    const row = await this.repo.findWithSums(id, asOf, ownRowsOf(actor));
    if (!row) throw new NotFoundException('Account not found');
    const units = minorUnits(row.currency);
    return {
      accountId: row.id,
      currency: row.currency,
      asOf,
      openingBalance: formatMoney(row.openingBalance, units),
      income: formatMoney(row.income, units),
      expenses: formatMoney(row.expenses, units),
      transfersIn: formatMoney(row.transfersIn, units),
      transfersOut: formatMoney(row.transfersOut, units),
      balance: formatMoney(row.balance, units),
    };
  }

  async list(actor: Actor, q: ListAccountsDto): Promise<AccountListResponse> {
    assertMayNarrow(actor, q.ownerId !== undefined ? ['ownerId'] : []);
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    let after: AccountKeyset | undefined;
    if (q.cursor) {
      after = this.cursors.decode<AccountKeyset>(q.cursor);
      if (!after || typeof after.c !== 'string' || typeof after.id !== 'string')
        throw invalidCursor();
    }
    const rows = await this.repo.list(
      {
        ownerId: ownRowsOf(actor) ?? q.ownerId?.toLowerCase(),
        includeArchived: q.includeArchived === true,
      },
      todayUtc(),
      limit,
      after,
    );
    const page = keysetPage(rows, limit, this.cursors, (last) => ({
      c: last.createdKey,
      id: last.id,
    }));
    return {
      data: page.rows.map(({ createdKey: _createdKey, ...row }) => presentAccount(row)),
      meta: { limit, nextCursor: page.nextCursor },
    };
  }

  /**
   * Owner or admin (an analyst's someone else's account is a 404). The currency changes only
   * while nothing references the account: its rows' amounts are in the old currency.
   */
  async update(
    actor: Actor,
    id: string,
    dto: UpdateAccountDto,
    ifMatch?: string,
  ): Promise<AccountResponse> {
    const sent: AccountChanges = {
      name: dto.name,
      type: dto.type,
      archived: dto.archived,
      currency: dto.currency,
    };
    if (Object.values(sent).every((v) => v === undefined)) {
      throw validationProblem([
        { field: 'body', message: 'send at least one of name, type, archived, currency' },
      ]);
    }
    return inTransaction(this.db, async (m) => {
      const before = await this.repo.lock(m, id, ownWritesOf(actor));
      if (!before) throw new NotFoundException('Account not found');
      if (ifMatch !== undefined) assertIfMatch(ifMatch, await this.body(m, id));
      const changes = { ...sent };
      if (sent.currency !== undefined && sent.currency !== before.currency) {
        if (await this.repo.isReferenced(m, id)) {
          throw new ConflictException(
            'The currency of an account cannot change once a transaction or transfer references it',
          );
        }
        const units = minorUnits(sent.currency);
        if (!keepsValueIn(before.openingBalance, units)) {
          throw validationProblem([
            {
              field: 'currency',
              message: `the opening balance ${before.openingBalance} does not fit ${sent.currency}: ${minorUnitsRule(sent.currency)}`,
            },
          ]);
        }
        changes.openingBalance = formatMoney(before.openingBalance, units);
      }
      const after = await this.repo.update(m, id, changes);
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'account.update',
        entityType: 'account',
        entityId: id,
        changes: diff(before, after, AUDITED_FIELDS),
      });
      const body = await this.body(m, id);
      await this.events.record(m, { type: 'account.updated', actorId: actor.id, data: body });
      return body;
    });
  }

  /** Hard delete (admin), only while nothing references the account; archive it otherwise. */
  async remove(actor: Actor, id: string): Promise<void> {
    await inTransaction(this.db, async (m) => {
      const before = await this.repo.lock(m, id);
      if (!before) throw new NotFoundException('Account not found');
      if (await this.repo.isReferenced(m, id)) {
        throw new ConflictException(
          'The account is referenced by transactions or transfers (deleted ones too): archive it instead',
        );
      }
      await this.repo.delete(m, id);
      await this.audit.record(m, {
        actorId: actor.id,
        action: 'account.delete',
        entityType: 'account',
        entityId: id,
        changes: diff(before, null, AUDITED_FIELDS),
      });
    });
  }

  /** The account body as of today, read inside the change's own transaction. */
  private async body(db: Queryable, id: string): Promise<AccountResponse> {
    return presentAccount((await this.repo.findWithSums(id, todayUtc(), undefined, db))!);
  }
}

/** The API body: the account and its balance today, at exactly the currency's minor units. */
export function presentAccount(row: AccountWithSums): AccountResponse {
  const units = minorUnits(row.currency);
  return {
    id: row.id,
    ownerId: row.ownerId,
    name: row.name,
    type: row.type,
    currency: row.currency,
    openingBalance: formatMoney(row.openingBalance, units),
    openingDate: row.openingDate,
    archived: row.archived,
    balance: formatMoney(row.balance, units),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
