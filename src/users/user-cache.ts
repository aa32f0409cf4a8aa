import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { databaseIncidents } from '../common/filters/database-incidents';
import { AppConfig } from '../config/app-config';
import type { User } from './entities/user.entity';
import { UsersRepository } from './users.repository';

// A safety net only: a notification is never lost while the listening connection is up, and
// while it is down nothing is cached. Documented in docs/architecture.md.
const MAX_AGE_MS = 30_000;
const MAX_ENTRIES = 10_000;
const RECONNECT_MS = 1_000;

/**
 * The active users behind the per-request authentication, kept in memory so a request needs no
 * database round trip just to learn that its caller still exists, is active and has a role.
 *
 * Correctness rests on invalidation, not on expiry: a trigger on `users` NOTIFYs every change on
 * commit and every instance LISTENs on a dedicated connection; the instance that makes a change
 * also drops its entry itself before answering, so its very next request already sees it. While
 * the listening connection is down (and until it is back and the cache has been emptied), every
 * lookup goes to the database.
 */
@Injectable()
export class UserCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UserCache.name);
  private readonly entries = new Map<string, { user: User; at: number }>();
  private listener?: Client;
  private listening = false;
  private stopped = false;
  /** The listener was lost and has not reconnected since. */
  private down = false;
  // Bumped by every invalidation: a lookup that raced one must not store what it read.
  private epoch = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.listening = false;
    await this.listener?.end().catch(() => undefined);
  }

  async get(id: string, load: () => Promise<User | null>): Promise<User | null> {
    if (!this.listening) return load();
    const hit = this.entries.get(id);
    if (hit && Date.now() - hit.at < MAX_AGE_MS) return hit.user;
    const epoch = this.epoch;
    const user = await load();
    if (user && this.listening && epoch === this.epoch) this.store(id, user);
    return user;
  }

  invalidate(id: string): void {
    this.epoch++;
    this.entries.delete(id.toLowerCase());
  }

  private store(id: string, user: User): void {
    this.entries.delete(id);
    this.entries.set(id, { user, at: Date.now() });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      // LISTEN needs a session of its own: never through a transaction-pooling PgBouncer.
      connectionString: this.config.databaseDirectUrl ?? (this.db.options as { url?: string }).url,
      application_name: 'finance-api-listener',
      // A connection that dies without a FIN (a network cut) is found by keepalive probes; the
      // 30 s maximum age bounds what is served until then.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('notification', (message) => {
      if (message.payload) this.invalidate(message.payload);
    });
    const lost = (reason: unknown) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.listening = false;
      this.epoch++;
      this.entries.clear();
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      // Once per loss; the retries every RECONNECT_MS while the database is away are part of
      // its incident (one line for all of them).
      if (!this.down)
        this.logger.warn(`user cache off until the change listener reconnects: ${String(reason)}`);
      else databaseIncidents.report('user cache listener', String(reason));
      this.down = true;
      setTimeout(() => void this.listen(), RECONNECT_MS).unref();
    };
    client.on('error', lost);
    client.on('end', () => lost('connection ended'));
    this.listener = client;
    try {
      await client.connect();
      await this.users.listenForChanges(client);
      // Anything cached before this point may have missed a notification; and if the connection
      // was lost while LISTEN was on its way, `lost` has already handed over to a new attempt.
      this.epoch++;
      this.entries.clear();
      this.listening = !this.stopped && this.listener === client;
      if (this.listening && this.down) {
        this.down = false;
        this.logger.log('user cache on again: the change listener reconnected');
      }
    } catch (error) {
      lost(error);
    }
  }
}
