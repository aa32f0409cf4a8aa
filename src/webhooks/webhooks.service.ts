import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { KeyPrincipal } from '../common/principal';
import { AccessDenied, type Actor } from '../common/access';
import { CursorCodec, keysetPage } from '../common/cursor';
import type { Scope } from '../common/permissions';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination';
import { invalidCursor, validationProblem } from '../common/validation';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { presentEvent } from '../events/present-event';
import { JobQueue } from '../jobs/job-queue';
import type {
  CreateWebhookDto,
  DeliveryListResponse,
  DeliveryResponse,
  ListDeliveriesDto,
  UpdateWebhookDto,
  WebhookResponse,
  WebhookWithSecretResponse,
} from './dto/webhook.dto';
import { DELIVERY_JOB, WebhookDeliveryService } from './webhook-delivery.service';
import { urlProblem } from './webhook-sender';
import { type WebhookRow, WebhooksRepository } from './webhooks.repository';

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

@Injectable()
export class WebhooksService {
  private readonly cursors: CursorCodec;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: WebhooksRepository,
    private readonly delivery: WebhookDeliveryService,
    private readonly jobs: JobQueue,
    private readonly config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.jwtSecret, 'webhook-deliveries');
  }

  async create(
    actor: Actor,
    dto: CreateWebhookDto,
    key?: KeyPrincipal['key'],
  ): Promise<WebhookWithSecretResponse> {
    assertKeyMayReceive(key, dto.events);
    this.checkUrl(dto.url);
    const secret = newSecret();
    const row = await this.repo.insert({
      ownerId: actor.id,
      url: dto.url,
      events: dto.events,
      description: dto.description ?? null,
      secret,
    });
    return { ...toResponse(row), secret };
  }

  async list(): Promise<WebhookResponse[]> {
    return (await this.repo.list()).map(toResponse);
  }

  async get(id: string): Promise<WebhookResponse> {
    return toResponse(await this.found(this.repo.find(id)));
  }

  async update(
    id: string,
    dto: UpdateWebhookDto,
    key?: KeyPrincipal['key'],
  ): Promise<WebhookResponse> {
    if (Object.values(dto).every((v) => v === undefined))
      throw validationProblem([
        { field: 'body', message: 'send at least one of url, events, description, enabled' },
      ]);
    if (key) assertKeyMayReceive(key, dto.events ?? (await this.get(id)).events);
    if (dto.url !== undefined) this.checkUrl(dto.url);
    return toResponse(await this.found(this.repo.update(id, dto)));
  }

  async remove(id: string): Promise<void> {
    if (!(await this.repo.delete(id))) throw new NotFoundException('Webhook not found');
  }

  async rotateSecret(id: string): Promise<WebhookWithSecretResponse> {
    const secret = newSecret();
    const row = await this.found(this.repo.update(id, { secret }));
    return { ...toResponse(row), secret };
  }

  /**
   * Sends a `webhook.ping` now, signed like every delivery, and answers with the attempt; it is
   * logged with the deliveries but never retried.
   */
  async ping(actor: Actor, id: string): Promise<DeliveryResponse> {
    const webhook = await this.found(this.repo.find(id));
    const secret = (await this.repo.secretOf(id))!;
    const event = presentEvent(actor, {
      id: randomUUID(),
      type: 'webhook.ping' as never,
      occurredAt: new Date(),
      actorId: actor.id,
      data: { webhookId: webhook.id },
    });
    const payload = JSON.stringify(event);
    const deliveryId = await this.repo.insertDelivery(id, event.id, 'webhook.ping', payload);
    const claimed = await this.repo.claim(deliveryId, this.config.webhooks.timeoutMs + 5_000);
    const outcome = await this.delivery.sender.send(webhook.url, secret, event.id, payload);
    await inTransaction(this.db, (m) =>
      this.repo.recordAttempt(m, claimed!.id, {
        status: outcome.ok ? 'succeeded' : 'failed',
        statusCode: outcome.statusCode,
        durationMs: outcome.durationMs,
        error: outcome.ok ? null : (outcome.error ?? `answered ${outcome.statusCode}`),
        nextAttemptAt: null,
      }),
    );
    return (await this.repo.findDelivery(id, deliveryId))!;
  }

  async deliveries(id: string, q: ListDeliveriesDto): Promise<DeliveryListResponse> {
    await this.found(this.repo.find(id));
    const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
    let after: { at: string; id: string } | undefined;
    if (q.cursor) {
      after = this.cursors.decode(q.cursor);
      if (!after || typeof after.at !== 'string' || typeof after.id !== 'string')
        throw invalidCursor();
    }
    const page = keysetPage(
      await this.repo.deliveries(id, limit, after),
      limit,
      this.cursors,
      (last) => ({
        at: last.atKey,
        id: last.id,
      }),
    );
    return {
      data: page.rows.map(({ atKey: _atKey, ...row }) => row),
      meta: { limit, nextCursor: page.nextCursor },
    };
  }

  /** Makes a delivery due now, whatever its state; its retry window starts again. */
  async retry(id: string, deliveryId: string): Promise<DeliveryResponse> {
    await this.found(this.repo.find(id));
    const row = await inTransaction(this.db, async (m) => {
      const requeued = await this.repo.requeue(m, id, deliveryId);
      if (!requeued) throw new NotFoundException('Delivery not found');
      await this.jobs.send(DELIVERY_JOB, { deliveryId }, { db: m });
      return requeued;
    });
    this.jobs.wake(DELIVERY_JOB);
    return row;
  }

  private checkUrl(url: string): void {
    const problem = urlProblem(url, this.config.webhooks);
    if (problem) throw validationProblem([{ field: 'url', message: problem }]);
  }

  private async found<T>(row: Promise<T | undefined>): Promise<T> {
    const value = await row;
    if (!value) throw new NotFoundException('Webhook not found');
    return value;
  }
}

/**
 * Through an API key, an endpoint may only be set up to receive what the key could read from the
 * feed: transaction events need `transactions:read`, user events `users:read`. Otherwise
 * `webhooks:manage` alone would get around both (subscribe, or point an endpoint at oneself).
 */
function assertKeyMayReceive(key: KeyPrincipal['key'] | undefined, events: readonly string[]) {
  if (!key) return;
  const needed = new Set<Scope>(
    events.map((type) => (type.startsWith('user.') ? 'users:read' : 'transactions:read')),
  );
  const missing = [...needed].filter((scope) => !key.scopes.includes(scope));
  if (missing.length > 0)
    throw new AccessDenied(
      `This API key lacks the scope ${missing.join(' and ')} to receive these events`,
    );
}

function toResponse(row: WebhookRow): WebhookResponse {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
