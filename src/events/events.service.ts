import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { type Actor, ownRowsOf } from '../common/access';
import { CursorCodec } from '../common/cursor';
import { touchedUser } from '../common/request-context';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import type { Params, Queryable } from '../database/sql';
import { JobQueue } from '../jobs/job-queue';
import type { AccountResponse } from '../accounts/dto/account.response';
import type { TransferResponse } from '../transfers/dto/transfer.response';
import type { TransactionResponse } from '../transactions/dto/transaction.response';
import type { UserResponse } from '../users/dto/user.response';
import type { EventListResponse, ListEventsDto } from './dto/list-events.dto';
import { EVENT_TYPES, type EventType, type StoredEvent } from './event-types';
import { type EventKeyset, EventsRepository } from './events.repository';
import { presentEvent } from './present-event';

/** What a write site says about its change; the resource is already in its API shape. */
export type EventRecord =
  | {
      type: 'transaction.updated' | 'transaction.deleted' | 'transaction.restored';
      actorId: string;
      data: TransactionResponse;
    }
  | {
      type: 'transactions.imported';
      actorId: string;
      data: { ownerId: string; imported: number; skipped: number; mode: 'all' | 'partial' };
    }
  | { type: 'user.created' | 'user.updated'; actorId: string; data: UserResponse }
  | { type: 'user.erased'; actorId: string; data: { id: string } }
  | { type: 'account.created' | 'account.updated'; actorId: string; data: AccountResponse }
  | {
      type: 'transfer.created' | 'transfer.deleted' | 'transfer.restored';
      actorId: string;
      data: TransferResponse;
    };

@Injectable()
export class EventsService implements OnModuleInit {
  private readonly logger = new Logger(EventsService.name);
  private readonly cursors: CursorCodec;

  constructor(
    private readonly repo: EventsRepository,
    private readonly config: AppConfig,
    private readonly jobs: JobQueue,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'events');
  }

  /** Retention: every 10 minutes one instance deletes events older than EVENT_RETENTION. */
  onModuleInit(): void {
    this.jobs.define({
      name: 'events-purge',
      expireInSeconds: 600,
      retryLimit: 2,
      concurrency: 1,
      handler: async () => {
        const n = await this.purge(this.config.eventRetention);
        if (n > 0) this.logger.log(`purged ${n} event(s) past EVENT_RETENTION`);
      },
    });
    this.jobs.atStart('events-purge');
    this.jobs.every('events-purge', '*/10 * * * *');
  }

  /**
   * Appends the event of a change through the change's own connection, so both commit or roll
   * back together (no event without its change, no change without its event).
   */
  record(db: Queryable, e: EventRecord): Promise<void> {
    const ownerId = e.type.startsWith('user.') ? null : (e.data as { ownerId: string }).ownerId;
    // Every change of a user's rows records its event here: that user's reads follow the write.
    touchedUser(ownerId);
    return this.repo.insert(db, { type: e.type, actorId: e.actorId, ownerId, data: e.data });
  }

  /** `transaction.purged` / `transfer.purged` as a data-modifying CTE over purged rows (purge.ts). */
  purgedFrom(
    params: Params,
    source: string,
    type: 'transaction.purged' | 'transfer.purged',
    actorId: string | null,
  ): string {
    return this.repo.insertPurgedFrom(params, source, type, actorId);
  }

  /** `transaction.created` as a data-modifying CTE of the INSERT itself (`source`: the new rows). */
  createdFrom(params: Params, source: string, actorId: string): string {
    return this.repo.insertFromTransactions(params, source, {
      type: 'transaction.created',
      actorId,
    });
  }

  /**
   * The pull feed: organisation readers see every event, others those about their own rows
   * (transactions, accounts, transfers: the event's `ownerId`).
   */
  async list(
    reader: Actor,
    q: ListEventsDto,
    withoutUserEvents = false,
  ): Promise<EventListResponse> {
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    const asked = parseTypes(q.types);
    const types = withoutUserEvents
      ? (asked ?? [...EVENT_TYPES]).filter((t) => !t.startsWith('user.'))
      : asked;
    let after: EventKeyset | undefined;
    if (q.after) {
      after = this.cursors.decode<EventKeyset>(q.after);
      if (!after || !/^\d{1,20}$/.test(String(after.tx)) || !/^\d{1,20}$/.test(String(after.seq)))
        throw invalidCursor('after is not a cursor this feed handed out');
    }
    const ownerId = ownRowsOf(reader);
    // A non-reader never sees user events (they carry no owner), so asking only for them is empty.
    const rows = await this.repo.list({ types, ownerId }, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    // At the end of what is visible now, the cursor still points past the last event handed
    // out (or stays where it was), so a poller keeps its place and later events follow it.
    const position = last ? { tx: last.tx, seq: last.seq } : after;
    return {
      data: page.map(({ tx: _tx, seq: _seq, ...event }) => presentEvent(reader, event)),
      meta: { limit, nextCursor: position ? this.cursors.encode(position) : null },
    };
  }

  /** Retention: deletes events older than `seconds`; returns how many went. */
  async purge(seconds: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.repo.purgeOlderThan(seconds);
      total += n;
      if (n === 0) return total;
    }
  }

  /** The stored events after `after` for the webhook dispatcher (all owners, no masking here). */
  readAfter(db: Queryable | undefined, limit: number, after?: EventKeyset) {
    return this.repo.list({}, limit, after, db);
  }
}

/** `types=a,b`: each must be a known type; unknown ones are a 400 naming them. */
function parseTypes(raw: string | undefined): EventType[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const types = raw.split(',').map((t) => t.trim());
  const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0)
    throw validationProblem([
      {
        field: 'types',
        message: `unknown event type(s) ${unknown.join(', ')}; known: ${EVENT_TYPES.join(', ')}`,
      },
    ]);
  return types as EventType[];
}

export type { StoredEvent };
