import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { warnUnlessUnavailable } from '../common/filters/database-incidents';
import type { Role } from '../common/roles';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { EventsService } from '../events/events.service';
import { eventVisibleTo, presentEvent } from '../events/present-event';
import { JobQueue } from '../jobs/job-queue';
import { retryDelayMs } from './retry-schedule';
import { type SendOutcome, WebhookSender } from './webhook-sender';
import { type ClaimedDelivery, WebhooksRepository } from './webhooks.repository';

export const DELIVERY_JOB = 'webhook-delivery';
// Events read from the outbox per dispatch round.
const DISPATCH_BATCH = 500;

/**
 * Moves events from the outbox to the endpoints and delivers them:
 * - the dispatcher (each instance polls, one at a time holds the position's row lock) reads the
 *   events past its position, writes one delivery per matching enabled endpoint, enqueues a
 *   delivery job for each and advances the position, all in one transaction: an event is
 *   dispatched exactly once, and a crash anywhere leaves it undispatched, never lost;
 * - a delivery job makes one attempt (under a lease, so no two run at once), records it and, on
 *   failure, enqueues the next attempt with exponential backoff and jitter in the same
 *   transaction, until WEBHOOK_RETRY_WINDOW has passed. An instance killed mid-attempt leaves
 *   its job to expire and be retried by the queue: delivery is at least once.
 */
@Injectable()
export class WebhookDeliveryService
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(WebhookDeliveryService.name);
  readonly sender: WebhookSender;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private dispatching?: Promise<void>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: WebhooksRepository,
    private readonly events: EventsService,
    private readonly jobs: JobQueue,
    private readonly config: AppConfig,
  ) {
    this.sender = new WebhookSender({
      allowHttp: config.webhooks.allowHttp,
      allowedHosts: config.webhooks.allowedHosts,
      timeoutMs: config.webhooks.timeoutMs,
    });
  }

  onModuleInit(): void {
    const timeoutSeconds = Math.ceil(this.config.webhooks.timeoutMs / 1000);
    this.jobs.define<{ deliveryId: string }>({
      name: DELIVERY_JOB,
      // An attempt is bounded by the timeout; a job running far longer belongs to a dead instance.
      expireInSeconds: timeoutSeconds + 10,
      retryLimit: 20,
      concurrency: this.config.webhooks.concurrency,
      pollingIntervalSeconds: 1,
      handler: (data) => this.attempt(data.deliveryId),
    });
  }

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.dispatching;
  }

  /** After every before-shutdown hook: the queue has drained the attempts using the agents. */
  onApplicationShutdown(): void {
    this.sender.close();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.dispatching = this.dispatch()
        .then((more) => {
          if (more) this.jobs.wake(DELIVERY_JOB);
        })
        // The database away (a failover): the next round retries; one line per incident.
        .catch((error: unknown) =>
          warnUnlessUnavailable(
            this.logger,
            'webhook dispatcher',
            error,
            `webhook dispatch failed: ${String(error)}`,
          ),
        )
        .finally(() => this.schedule());
    }, this.config.webhooks.dispatchIntervalMs);
  }

  /** One dispatch round; true when it created deliveries. */
  async dispatch(): Promise<boolean> {
    // Most rounds find nothing new: they look without a transaction (or any lock) first.
    const seen = keyset(await this.repo.position());
    if ((await this.events.readAfter(undefined, 1, seen)).length === 0) return false;
    return inTransaction(this.db, async (m) => {
      const position = await this.repo.lockPosition(m);
      if (!position) return false; // another instance is dispatching
      const events = await this.events.readAfter(m, DISPATCH_BATCH, keyset(position));
      if (events.length === 0) return false;
      const endpoints = await this.repo.enabledEndpoints(m);
      const rows = events.flatMap((event) => {
        const { tx: _tx, seq: _seq, ...stored } = event;
        return endpoints
          .map((w) => ({ w, reader: { id: w.ownerId, role: w.role as Role } }))
          .filter(
            ({ w, reader }) => w.events.includes(event.type) && eventVisibleTo(reader, stored),
          )
          .map(({ w, reader }) => {
            const body = presentEvent(reader, stored);
            return {
              webhookId: w.id,
              eventId: event.id,
              eventType: event.type,
              payload: JSON.stringify(body),
            };
          });
      });
      const ids = await this.repo.insertDeliveries(m, rows);
      await this.jobs.sendMany(
        DELIVERY_JOB,
        ids.map((deliveryId) => ({ deliveryId })),
        m,
      );
      const last = events[events.length - 1];
      await this.repo.savePosition(m, last.tx, last.seq);
      return ids.length > 0;
    });
  }

  /** One attempt of one delivery (the job handler). */
  async attempt(deliveryId: string): Promise<void> {
    const w = this.config.webhooks;
    const delivery = await this.repo.claim(deliveryId, w.timeoutMs + 5_000);
    if (!delivery) return; // done, given up, or being attempted elsewhere right now
    if (!delivery.enabled) {
      await this.repo.giveUp(deliveryId, 'the endpoint is disabled');
      return;
    }
    const outcome = await this.sender.send(
      delivery.url,
      delivery.secret,
      delivery.eventId,
      delivery.payload,
    );
    await this.record(delivery, outcome);
  }

  private async record(delivery: ClaimedDelivery, outcome: SendOutcome): Promise<void> {
    const w = this.config.webhooks;
    const { id: deliveryId, webhookId, windowStartedAt, attempt } = delivery;
    await inTransaction(this.db, async (m) => {
      const result = {
        statusCode: outcome.statusCode,
        durationMs: outcome.durationMs,
        error: outcome.ok ? null : (outcome.error ?? `answered ${outcome.statusCode}`),
      };
      if (outcome.ok) {
        await this.repo.recordAttempt(m, deliveryId, {
          ...result,
          status: 'succeeded',
          nextAttemptAt: null,
        });
        await this.repo.endpointSucceeded(m, webhookId);
        return;
      }
      const next = new Date(Date.now() + retryDelayMs(attempt, w.retryBaseMs, w.retryMaxMs));
      const windowEnds = windowStartedAt.getTime() + w.retryWindowSeconds * 1000;
      const retry = next.getTime() <= windowEnds;
      await this.repo.recordAttempt(m, deliveryId, {
        ...result,
        status: retry ? 'retrying' : 'failed',
        nextAttemptAt: retry ? next : null,
      });
      if (retry) await this.jobs.send(DELIVERY_JOB, { deliveryId }, { db: m, startAfter: next });
      await this.repo.endpointFailed(m, webhookId, w.retryWindowSeconds);
    });
  }
}

function keyset(p: { tx: string | null; seq: string | null }) {
  return p.tx !== null && p.seq !== null ? { tx: p.tx, seq: p.seq } : undefined;
}
