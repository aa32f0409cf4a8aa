import { Injectable, PayloadTooLargeException, UnprocessableEntityException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { writeOwner } from '../common/access';
import { etagOf } from '../common/etag';
import { problemOf } from '../common/filters/problem-details.filter';
import { policyOf, refusal, type RouteKey } from '../common/permissions';
import type { ApiKeyGrant } from '../common/principal';
import { type FieldIssue, type Problem, problemBody } from '../common/problem';
import { badRequest, validatePlain } from '../common/validation';
import { AccountsRepository, type BookingAccount } from '../accounts/accounts.repository';
import { AppConfig } from '../config/app-config';
import { lockRollups, type RollupKey } from '../database/rollups';
import { inTransaction } from '../database/transaction';
import type { KeyedClaim } from '../idempotency/idempotency.interceptor';
import { IdempotencyService } from '../idempotency/idempotency.service';
import type { User } from '../users/entities/user.entity';
import { book, bookedOrThrow } from './booking';
import {
  type BatchOp,
  BatchRequestDto,
  type BatchResponse,
  type BatchResult,
  DATA_DTO,
  MAX_BATCH_OPERATIONS,
} from './dto/batch.dto';
import type { CreateTransactionDto } from './dto/create-transaction.dto';
import type { TransactionResponse } from './dto/transaction.response';
import { PlannerStatistics } from './planner-statistics';
import {
  type EditableFields,
  type NewTransaction,
  TransactionsRepository,
} from './transactions.repository';
import {
  bookingInput,
  editableFields,
  inactiveOwner,
  newTransaction,
  TransactionsService,
} from './transactions.service';

/** The single route each operation is judged by. */
const ROUTE_OF: Record<BatchOp, RouteKey> = {
  create: 'POST /transactions',
  update: 'PATCH /transactions/{id}',
  delete: 'DELETE /transactions/{id}',
  restore: 'POST /transactions/{id}/restore',
};

type Planned =
  | { index: number; op: 'create'; dto: CreateTransactionDto; ownerId: string }
  | { index: number; op: 'update'; id: string; fields: EditableFields; ifMatch?: string }
  | { index: number; op: 'delete' | 'restore'; id: string };

type PerRow = Exclude<Planned, { op: 'create' }>;

interface Failure {
  index: number;
  id?: string;
  problem: Problem;
}

/** Past this many rollup keys a batch stops predicting more (see `rollupKeys`). */
const MAX_PREDICTED_KEYS = 4096;

/**
 * `POST /transactions/batch` (docs/api.md section 15): each operation is judged by its single
 * route's policy and DTO and written by the same TransactionsService methods, inside one database
 * transaction. Creates go in one multi-row INSERT (what makes 500 of them cheap); the operations
 * on existing rows run one by one in input order, each in a savepoint when `atomic` is false.
 */
@Injectable()
export class TransactionBatchService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly transactions: TransactionsService,
    private readonly repo: TransactionsRepository,
    private readonly accounts: AccountsRepository,
    private readonly keys: IdempotencyService,
    private readonly config: AppConfig,
    private readonly statistics: PlannerStatistics,
  ) {}

  /** The request's shape: a 413 past 500 operations, a 400 for anything malformed. */
  static parse(body: unknown): BatchRequestDto {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw badRequest('The body must be a JSON object with `operations`');
    const operations = (body as { operations?: unknown }).operations;
    if (Array.isArray(operations) && operations.length > MAX_BATCH_OPERATIONS)
      throw new PayloadTooLargeException(
        `A batch takes at most ${MAX_BATCH_OPERATIONS} operations; this one has ${operations.length}`,
      );
    const { value, errors } = validatePlain(BatchRequestDto, body);
    if (Array.isArray(value.operations))
      value.operations.forEach((o, i) => errors.push(...misplacedMembers(o, i)));
    if (errors.length > 0) throw badRequest('The batch is malformed; nothing was run', errors);
    return value;
  }

  async run(
    actor: User,
    key: ApiKeyGrant | undefined,
    request: BatchRequestDto,
    claim?: KeyedClaim,
  ): Promise<BatchResponse> {
    const atomic = request.atomic ?? true;
    const judged = request.operations.map((o, index) => judge(actor, key, o, index));
    const failures = judged.filter((j): j is Failure => 'problem' in j);
    const planned = judged.filter((j): j is Planned => !('problem' in j));
    const response = await inTransaction(this.db, async (m) => {
      const creates = await this.bookCreates(m, planned, failures);
      // Every malformed or forbidden operation is named at once; other failures, the first met.
      const invalid = failures.filter((f) => f.problem.status === 400 || f.problem.status === 403);
      if (atomic && invalid.length > 0) throw notApplied(invalid);
      const perRow = planned.filter((p): p is PerRow => p.op !== 'create');
      const results = new Map<number, BatchResult>();
      const rows = await this.repo.lockInIdOrder(
        perRow.map((p) => p.id),
        m,
      );
      const locked = (creates.length > 0 ? 1 : 0) + perRow.length > 1;
      if (locked) await lockRollups(m, rollupKeys(creates, perRow, rows));
      await this.insertCreates(m, actor, creates, results, failures, locked);
      const stopAt = atomic ? firstIndex(failures) : Infinity;
      for (const p of perRow) {
        if (p.index > stopAt) break;
        const outcome = await this.attempt(m, !atomic, () => this.applyToRow(m, actor, p));
        // Atomic: the transaction is spent after a failure and will be rolled back.
        if (!outcome.ok) {
          failures.push({ index: p.index, id: p.id, problem: outcome.problem });
          if (atomic) break;
        } else results.set(p.index, { index: p.index, ...outcome.value });
      }
      if (atomic && failures.length > 0) throw notApplied([firstOf(failures)]);
      for (const f of failures) results.set(f.index, failedResult(f));
      const response = { results: [...results.values()].sort((a, b) => a.index - b.index) };
      if (claim)
        await this.keys.complete(m, claim, claim.hash, {
          status: 200,
          body: response,
          location: null,
        });
      return response;
    });
    // 500 rows can be a large share of a young table: its statistics, after the commit.
    this.statistics.afterBulkWrite(response.results.filter((r) => r.status < 300).length);
    return response;
  }

  /**
   * The creates' money, judged as the single route judges it (booking.ts), against their
   * accounts share-locked until commit (an archive waits for the batch, not the other way round).
   */
  private async bookCreates(
    m: EntityManager,
    planned: Planned[],
    failures: Failure[],
  ): Promise<(NewTransaction & { index: number })[]> {
    const creates = planned.filter((p) => p.op === 'create');
    const named = creates.flatMap((c) => (c.dto.accountId ? [c.dto.accountId.toLowerCase()] : []));
    const accounts =
      named.length > 0
        ? await this.accounts.lockForBooking(m, [...new Set(named)])
        : new Map<string, BookingAccount>();
    return creates.flatMap((c) => {
      const input = bookingInput(c.ownerId, c.dto);
      const money = book(
        input,
        input.accountId === null ? undefined : accounts.get(input.accountId),
        this.config.baseCurrency,
      );
      try {
        return [{ index: c.index, ...newTransaction(c.ownerId, c.dto, bookedOrThrow(money)) }];
      } catch (error) {
        failures.push({ index: c.index, problem: problemOf(error) });
        return [];
      }
    });
  }

  /**
   * All creates in one statement. Should it fail (an account archived between the booking and
   * the insert cannot be, it is share-locked, but a constraint might), they run one by one to
   * tell which operation failed and why.
   */
  private async insertCreates(
    m: EntityManager,
    actor: User,
    creates: (NewTransaction & { index: number })[],
    results: Map<number, BatchResult>,
    failures: Failure[],
    locked: boolean,
  ): Promise<void> {
    if (creates.length === 0) return;
    const together = await this.attempt(m, true, () => this.transactions.insert(m, actor, creates));
    let rows: (TransactionResponse | undefined)[];
    if (together.ok) rows = together.value;
    else {
      // One statement per create from here on: lock their rollup rows first, in order.
      if (!locked) await lockRollups(m, creates.map(keyOf));
      rows = [];
      for (const c of creates) {
        const one = await this.attempt(m, true, () => this.transactions.insert(m, actor, [c]));
        if (!one.ok) failures.push({ index: c.index, problem: one.problem });
        rows.push(one.ok ? one.value[0] : undefined);
      }
    }
    creates.forEach((c, i) => {
      const row = rows[i];
      if (row) results.set(c.index, { index: c.index, status: 201, id: row.id, etag: etagOf(row) });
      else if (!failures.some((f) => f.index === c.index))
        failures.push({ index: c.index, problem: problemOf(inactiveOwner()) });
    });
  }

  private async applyToRow(
    m: EntityManager,
    actor: User,
    p: PerRow,
  ): Promise<Omit<BatchResult, 'index'>> {
    switch (p.op) {
      case 'update': {
        const row = await this.transactions.updateIn(m, actor, p.id, p.fields, p.ifMatch);
        return { status: 200, id: p.id, etag: etagOf(row) };
      }
      case 'delete':
        await this.transactions.removeIn(m, actor, p.id);
        return { status: 204, id: p.id };
      case 'restore': {
        const row = await this.transactions.restoreIn(m, actor, p.id);
        return { status: 200, id: p.id, etag: etagOf(row) };
      }
    }
  }

  /**
   * Runs `fn`, in a savepoint when `isolated`, turning a refusal (a 4xx) into the problem its
   * single route would answer; without the savepoint the transaction is then spent. Anything
   * worse (the database gone, a deadlock) fails the whole batch.
   */
  private async attempt<T>(
    m: EntityManager,
    isolated: boolean,
    fn: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; problem: Problem }> {
    if (isolated) await m.query('SAVEPOINT batch_op');
    try {
      const value = await fn();
      if (isolated) await m.query('RELEASE SAVEPOINT batch_op');
      return { ok: true, value };
    } catch (error) {
      const problem = problemOf(error);
      if (problem.status >= 500) throw error;
      if (isolated) await m.query('ROLLBACK TO SAVEPOINT batch_op');
      return { ok: false, problem };
    }
  }
}

/** An operation judged without the database: its route's policy, its body, its owner. */
function judge(
  actor: User,
  key: ApiKeyGrant | undefined,
  o: { op: BatchOp; id?: string; data?: object; ifMatch?: string },
  index: number,
): Planned | Failure {
  const id = o.id?.toLowerCase();
  const fail = (problem: Problem): Failure => ({ index, ...(id ? { id } : {}), problem });
  const why = refusal(policyOf(ROUTE_OF[o.op]), actor.role, key?.scopes);
  if (why !== undefined) return fail({ status: 403, detail: why });
  if (o.op === 'delete' || o.op === 'restore') return { index, op: o.op, id: id! };
  const { value, errors } = validatePlain(DATA_DTO[o.op] as new () => object, o.data!);
  if (errors.length > 0) return fail({ status: 400, detail: 'Validation failed', errors });
  try {
    if (o.op === 'update')
      return {
        index,
        op: 'update',
        id: id!,
        fields: editableFields(value),
        ifMatch: o.ifMatch,
      };
    const dto = value as CreateTransactionDto;
    return { index, op: 'create', dto, ownerId: writeOwner(actor, dto.ownerId) };
  } catch (error) {
    return fail(problemOf(error));
  }
}

/** Members that exist on the operation type but not on this `op` (an `id` on a create...). */
function misplacedMembers(
  o: { op?: unknown; id?: unknown; data?: unknown; ifMatch?: unknown },
  index: number,
): FieldIssue[] {
  const allowed: Record<BatchOp, string[]> = {
    create: ['data'],
    update: ['id', 'data', 'ifMatch'],
    delete: ['id'],
    restore: ['id'],
  };
  if (o === null || typeof o !== 'object') return [];
  const members = allowed[o.op as BatchOp] as string[] | undefined;
  if (!members) return [];
  return (['id', 'data', 'ifMatch'] as const)
    .filter((k) => o[k] !== undefined && !members.includes(k))
    .map((k) => ({
      field: `operations.${index}.${k}`,
      message: `${k} is not allowed on a ${String(o.op)} operation`,
    }));
}

const keyOf = ({ ownerId, date, type, category, currency }: RollupKey): RollupKey => ({
  ownerId,
  date,
  type,
  category,
  currency,
});

/**
 * Every rollup key the batch may touch: the creates' and, per existing row, each state the
 * operations on it can leave it in (an update that fails in a non-atomic batch leaves the old
 * state, so both are kept). A key missed here is only a lock taken later, out of order.
 */
function rollupKeys(
  creates: NewTransaction[],
  perRow: PerRow[],
  rows: TransactionResponse[],
): RollupKey[] {
  const keys = new Map<string, RollupKey>();
  const add = (k: RollupKey) => {
    if (keys.size < MAX_PREDICTED_KEYS)
      keys.set(JSON.stringify([k.ownerId, k.date, k.type, k.category, k.currency]), k);
  };
  creates.forEach((c) => add(keyOf(c)));
  const states = new Map(rows.map((r) => [r.id, [keyOf(r)]]));
  for (const p of perRow) {
    const known = states.get(p.id);
    if (!known) continue;
    if (p.op === 'update') {
      const f = p.fields;
      for (const s of [...known]) {
        if (known.length >= 64) break;
        known.push({
          ownerId: s.ownerId,
          type: f.type ?? s.type,
          category: f.category ?? s.category,
          date: f.date ?? s.date,
          currency: f.currency ?? s.currency,
        });
      }
    }
  }
  for (const known of states.values()) known.forEach(add);
  return [...keys.values()];
}

const firstIndex = (failures: Failure[]) =>
  failures.reduce((min, f) => Math.min(min, f.index), Infinity);

const firstOf = (failures: Failure[]) => failures.reduce((a, b) => (b.index < a.index ? b : a));

/** An atomic batch that wrote nothing: 422, each failure's field issues tagged with its index. */
function notApplied(failures: Failure[]): UnprocessableEntityException {
  const errors = [...failures]
    .sort((a, b) => a.index - b.index)
    .flatMap(({ index, problem }) => {
      const issues = (problem.errors ?? []) as FieldIssue[];
      return issues.length > 0
        ? issues.map((i) => ({ index, status: problem.status, field: i.field, message: i.message }))
        : [{ index, status: problem.status, message: problem.detail }];
    });
  const indexes = [...new Set(failures.map((f) => f.index))];
  return new UnprocessableEntityException({
    message: `The batch was not applied: operation${indexes.length > 1 ? 's' : ''} ${indexes.join(', ')} failed`,
    errors,
  });
}

/** A failed operation of a non-atomic batch: its single route's problem, as that route sends it. */
function failedResult({ index, id, problem }: Failure): BatchResult {
  return { index, status: problem.status, ...(id ? { id } : {}), problem: problemBody(problem) };
}
