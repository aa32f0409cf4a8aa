import {
  type BeforeApplicationShutdown,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import PgBoss from 'pg-boss';
import { databaseIncidents } from '../common/filters/database-incidents';
import { isDatabaseUnavailable } from '../common/filters/pool-errors';
import { type Queryable, query } from '../database/sql';

/** What a job type needs: its queue settings, how many run at once per instance, its handler. */
export interface JobDefinition<T extends object> {
  name: string;
  /** Seconds a running job may take before it is presumed dead (a crashed instance) and retried. */
  expireInSeconds: number;
  /** Re-runs after the handler threw or its instance died (not the webhook retry schedule). */
  retryLimit: number;
  /** Jobs of this type one instance runs at once. */
  concurrency: number;
  /** How often an idle worker looks for work (at least 0.5 s; `wake` shortcuts it). */
  pollingIntervalSeconds?: number;
  /** `lastTry`: a throw now is final (no retry follows), so the handler can record the failure. */
  handler: (data: T, job: { id: string; lastTry: boolean }) => Promise<void>;
}

export interface QueueSettings {
  /** A real session (DATABASE_DIRECT_URL, or DATABASE_URL): the queue's own small pool. */
  url: string;
  maintenanceIntervalSeconds: number;
  /** How long SIGTERM waits for running jobs before handing them back to the queue. */
  shutdownTimeoutMs: number;
}

/**
 * The PostgreSQL-backed job queue (pg-boss): jobs are rows fetched with `FOR UPDATE SKIP LOCKED`,
 * so several instances share the work and no job runs twice at once; a job whose instance dies
 * is retried once it expires. Jobs can be enqueued inside a caller's transaction (`send` with
 * `db`), so they exist exactly when the change that asked for them commits.
 *
 * pg-boss needs no session state (no LISTEN, no session advisory lock) but gets the direct URL
 * anyway, so its polling never competes with requests for PgBouncer's server connections.
 */
export class JobQueue implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobQueue.name);
  private readonly boss: PgBoss;
  private readonly definitions: JobDefinition<object>[] = [];
  private readonly schedules: { name: string; cron: string }[] = [];
  private readonly onStart: string[] = [];
  private readonly workers = new Map<string, string[]>();
  private started = false;

  constructor(private readonly settings: QueueSettings) {
    this.boss = new PgBoss({
      connectionString: settings.url,
      max: 4,
      application_name: 'finance-api-jobs',
      maintenanceIntervalSeconds: settings.maintenanceIntervalSeconds,
      // Finished jobs are history, not state: kept a day for inspection.
      archiveCompletedAfterSeconds: 3600,
      deleteAfterDays: 1,
    });
    // The database away (a failover): pg-boss keeps polling and carries on once it is back, on
    // new connections (its pool drops a connection whose query failed); one line per incident.
    this.boss.on('error', (error) => {
      if (isDatabaseUnavailable(error)) databaseIncidents.report('job queue', error.message);
      else this.logger.error(`job queue: ${error.message}`);
    });
  }

  /** Registers a job type; call before the application has started (in onModuleInit). */
  define<T extends object>(definition: JobDefinition<T>): void {
    this.definitions.push(definition as unknown as JobDefinition<object>);
  }

  /** Runs `name` on a cron schedule (one run per tick across all instances). */
  every(name: string, cron: string): void {
    this.schedules.push({ name, cron });
  }

  /** Also runs `name` once whenever an instance starts (queued when the queue is up). */
  atStart(name: string): void {
    this.onStart.push(name);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.boss.start();
    for (const d of this.definitions) {
      await racing(async () => {
        if (await this.boss.getQueue(d.name)) return;
        await this.boss.createQueue(d.name, {
          name: d.name,
          retryLimit: d.retryLimit,
          retryDelay: 1,
          expireInSeconds: d.expireInSeconds,
        });
      });
      const ids: string[] = [];
      for (let i = 0; i < d.concurrency; i++) {
        const self: { id?: string } = {};
        self.id = await this.boss.work<object>(
          d.name,
          {
            batchSize: 1,
            pollingIntervalSeconds: d.pollingIntervalSeconds ?? 2,
            includeMetadata: true,
          },
          async ([job]) => {
            await d.handler(job.data, {
              id: job.id,
              lastTry: job.retryCount >= job.retryLimit,
            });
            // A worker that found work looks again at once instead of after its polling
            // interval: a backlog drains at the speed of the handlers, not one job per poll.
            if (self.id) this.boss.notifyWorker(self.id);
          },
        );
        ids.push(self.id);
      }
      this.workers.set(d.name, ids);
    }
    for (const s of this.schedules) await racing(() => this.boss.schedule(s.name, s.cron));
    this.started = true;
    for (const name of this.onStart) await this.boss.send(name, {});
  }

  /**
   * Enqueues a job; with `db`, inside that connection's transaction (it exists only if the
   * transaction commits). `startAfter`: not before this time.
   */
  async send(
    name: string,
    data: object,
    options: { startAfter?: Date; db?: Queryable; singletonKey?: string } = {},
  ): Promise<void> {
    const { db, ...rest } = options;
    await this.boss.send(name, data, {
      ...rest,
      ...(db
        ? { db: { executeSql: async (text, values) => ({ rows: await query(db, text, values) }) } }
        : {}),
    });
  }

  /** Enqueues many jobs of one type in one statement, inside `db`'s transaction. */
  async sendMany(name: string, data: object[], db: Queryable): Promise<void> {
    if (data.length === 0) return;
    await this.boss.insert(
      data.map((d) => ({ name, data: d })),
      { db: { executeSql: async (text, values) => ({ rows: await query(db, text, values) }) } },
    );
  }

  /** Wakes this instance's idle workers of `name` now instead of at their next poll. */
  wake(name: string): void {
    if (!this.started) return;
    for (const id of this.workers.get(name) ?? []) this.boss.notifyWorker(id);
  }

  /**
   * SIGTERM: no new jobs are fetched; running ones get `shutdownTimeoutMs` to finish, then are
   * handed back (failed into retry) for another instance. Before the database pool closes.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, timeout: this.settings.shutdownTimeoutMs, wait: true });
  }
}

/**
 * Instances started together create the same queues at the same moment; pg-boss's DDL for a new
 * queue can then deadlock or collide on its unique name. The loser simply tries again.
 */
async function racing(step: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 5 || (code !== '40P01' && code !== '23505' && code !== '42P07')) throw error;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200 * attempt));
    }
  }
}
