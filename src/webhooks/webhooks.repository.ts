import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Params, type Queryable, query } from '../database/sql';

export interface WebhookRow {
  id: string;
  ownerId: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryRow {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'retrying' | 'succeeded' | 'failed';
  attempt: number;
  statusCode: number | null;
  durationMs: number | null;
  error: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
}

/** A delivery claimed for one attempt, with what the attempt needs. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  payload: string;
  /** This attempt's number (1 = the first). */
  attempt: number;
  windowStartedAt: Date;
  webhookId: string;
  url: string;
  secret: string;
  enabled: boolean;
}

const WEBHOOK = `w.id, w.owner_id AS "ownerId", w.url, w.events, w.description, w.enabled,
  w.disabled_reason AS "disabledReason", w.failing_since AS "failingSince",
  w.created_at AS "createdAt", w.updated_at AS "updatedAt"`;
const DELIVERY = `d.id, d.webhook_id AS "webhookId", d.event_id AS "eventId", d.event_type AS "eventType",
  d.status, d.attempt, d.status_code AS "statusCode", d.duration_ms AS "durationMs", d.error,
  d.next_attempt_at AS "nextAttemptAt", d.created_at AS "createdAt",
  d.last_attempt_at AS "lastAttemptAt", d.delivered_at AS "deliveredAt"`;

/** Every query on webhooks, their deliveries and the dispatcher's outbox position. */
@Injectable()
export class WebhooksRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(w: {
    ownerId: string;
    url: string;
    events: string[];
    description: string | null;
    secret: string;
  }): Promise<WebhookRow> {
    const [row] = await query<WebhookRow>(
      this.db,
      `INSERT INTO webhooks AS w (owner_id, url, events, description, secret)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${WEBHOOK}`,
      [w.ownerId, w.url, w.events, w.description, w.secret],
    );
    return row;
  }

  list(): Promise<WebhookRow[]> {
    return query(this.db, `SELECT ${WEBHOOK} FROM webhooks w ORDER BY w.created_at, w.id`);
  }

  async find(id: string): Promise<WebhookRow | undefined> {
    const [row] = await query<WebhookRow>(
      this.db,
      `SELECT ${WEBHOOK} FROM webhooks w WHERE w.id = $1`,
      [id],
    );
    return row;
  }

  async secretOf(id: string): Promise<string | undefined> {
    const [row] = await query<{ secret: string }>(
      this.db,
      `SELECT secret FROM webhooks WHERE id = $1`,
      [id],
    );
    return row?.secret;
  }

  /** Re-enabling clears the failure streak, so the endpoint gets a fresh 24 hours. */
  async update(
    id: string,
    f: {
      url?: string;
      events?: string[];
      description?: string | null;
      enabled?: boolean;
      secret?: string;
    },
  ): Promise<WebhookRow | undefined> {
    const params = new Params();
    const sets = ['updated_at = now()'];
    if (f.url !== undefined) sets.push(`url = ${params.p(f.url)}`);
    if (f.events !== undefined) sets.push(`events = ${params.p(f.events)}`);
    if (f.description !== undefined) sets.push(`description = ${params.p(f.description)}`);
    if (f.secret !== undefined) sets.push(`secret = ${params.p(f.secret)}`);
    if (f.enabled !== undefined) {
      sets.push(`enabled = ${params.p(f.enabled)}`);
      if (f.enabled) sets.push('disabled_reason = NULL', 'failing_since = NULL');
      else sets.push(`disabled_reason = 'disabled by an admin'`);
    }
    const [row] = await query<WebhookRow>(
      this.db,
      `UPDATE webhooks w SET ${sets.join(', ')} WHERE w.id = ${params.p(id)} RETURNING ${WEBHOOK}`,
      params.values,
    );
    return row;
  }

  async delete(id: string): Promise<boolean> {
    return (
      (await query(this.db, `DELETE FROM webhooks WHERE id = $1 RETURNING 1`, [id])).length > 0
    );
  }

  // --- the dispatcher -------------------------------------------------------------------------

  /** Locks the dispatcher's position; undefined when another instance is dispatching right now. */
  async lockPosition(
    db: Queryable,
  ): Promise<{ tx: string | null; seq: string | null } | undefined> {
    // An instance frozen mid-round (stopped, swapped out) must not hold the lock, and with it
    // every instance's dispatching, for longer than this.
    await db.query(`SET LOCAL idle_in_transaction_session_timeout = '10s'`);
    const [row] = await query<{ tx: string | null; seq: string | null }>(
      db,
      `SELECT tx::text AS tx, seq::text AS seq FROM webhook_dispatch WHERE id = 1 FOR UPDATE SKIP LOCKED`,
    );
    return row;
  }

  /** The dispatcher's position, unlocked (a cheap look before a dispatch round). */
  async position(): Promise<{ tx: string | null; seq: string | null }> {
    const [row] = await query<{ tx: string | null; seq: string | null }>(
      this.db,
      `SELECT tx::text AS tx, seq::text AS seq FROM webhook_dispatch WHERE id = 1`,
    );
    return row;
  }

  async savePosition(db: Queryable, tx: string, seq: string): Promise<void> {
    await db.query(`UPDATE webhook_dispatch SET tx = $1::xid8, seq = $2 WHERE id = 1`, [tx, seq]);
  }

  /**
   * Enabled endpoints of active owners, with the owner's role (the reader their payloads are
   * presented for): a deactivated owner reads nothing, through the API or its endpoints.
   */
  enabledEndpoints(
    db: Queryable,
  ): Promise<{ id: string; events: string[]; ownerId: string; role: string }[]> {
    return query(
      db,
      `SELECT w.id, w.events, w.owner_id AS "ownerId", u.role
       FROM webhooks w JOIN users u ON u.id = w.owner_id AND u.is_active WHERE w.enabled`,
    );
  }

  /** New deliveries (one per endpoint and event; a repeat is ignored); returns the new ids. */
  async insertDeliveries(
    db: Queryable,
    rows: { webhookId: string; eventId: string; eventType: string; payload: string }[],
  ): Promise<string[]> {
    if (rows.length === 0) return [];
    const out = await query<{ id: string }>(
      db,
      `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])
       ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id`,
      [
        rows.map((r) => r.webhookId),
        rows.map((r) => r.eventId),
        rows.map((r) => r.eventType),
        rows.map((r) => r.payload),
      ],
    );
    return out.map((r) => r.id);
  }

  async insertDelivery(
    webhookId: string,
    eventId: string,
    eventType: string,
    payload: string,
  ): Promise<string> {
    const [row] = await query<{ id: string }>(
      this.db,
      `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload)
       VALUES ($1, $2, $3, $4) RETURNING id`,
      [webhookId, eventId, eventType, payload],
    );
    return row.id;
  }

  // --- attempts ---------------------------------------------------------------------------------

  /**
   * Claims a delivery for one attempt: only a pending or retrying one whose previous attempt is
   * not still in flight (its lease has not run out). The lease outlives the attempt's timeout, so
   * two instances can never send the same delivery at once; an instance killed mid-attempt
   * leaves a lease that simply runs out.
   */
  async claim(id: string, leaseMs: number): Promise<ClaimedDelivery | undefined> {
    const [row] = await query<ClaimedDelivery>(
      this.db,
      `UPDATE webhook_deliveries d
       SET lease_until = now() + make_interval(secs => $2::double precision / 1000),
           attempt = d.attempt + 1, last_attempt_at = now()
       FROM webhooks w
       WHERE d.id = $1 AND w.id = d.webhook_id AND d.status IN ('pending', 'retrying')
         AND (d.lease_until IS NULL OR d.lease_until < now())
       RETURNING d.id, d.event_id AS "eventId", d.payload, d.attempt, d.window_started_at AS "windowStartedAt",
         w.id AS "webhookId", w.url, w.secret, w.enabled`,
      [id, leaseMs],
    );
    return row;
  }

  /** Records an attempt's outcome and the endpoint's streak, in the caller's transaction. */
  async recordAttempt(
    db: Queryable,
    id: string,
    o: {
      status: DeliveryRow['status'];
      statusCode: number | null;
      durationMs: number;
      error: string | null;
      nextAttemptAt: Date | null;
    },
  ): Promise<void> {
    await db.query(
      `UPDATE webhook_deliveries SET status = $2, status_code = $3, duration_ms = $4, error = $5,
         next_attempt_at = $6, lease_until = NULL,
         delivered_at = CASE WHEN $2 = 'succeeded' THEN now() ELSE delivered_at END
       WHERE id = $1`,
      [id, o.status, o.statusCode, o.durationMs, o.error, o.nextAttemptAt],
    );
  }

  async endpointSucceeded(db: Queryable, webhookId: string): Promise<void> {
    await db.query(
      `UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`,
      [webhookId],
    );
  }

  /** Starts or continues the failure streak; past `windowSeconds` of it, disables the endpoint. */
  async endpointFailed(db: Queryable, webhookId: string, windowSeconds: number): Promise<void> {
    await db.query(
      `UPDATE webhooks SET failing_since = coalesce(failing_since, now()),
         enabled = CASE WHEN failing_since < now() - make_interval(secs => $2) THEN false ELSE enabled END,
         disabled_reason = CASE WHEN enabled AND failing_since < now() - make_interval(secs => $2)
           THEN 'every delivery failed since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           ELSE disabled_reason END,
         updated_at = CASE WHEN enabled AND failing_since < now() - make_interval(secs => $2)
           THEN now() ELSE updated_at END
       WHERE id = $1`,
      [webhookId, windowSeconds],
    );
  }

  /** A delivery of a disabled or deleted endpoint is given up. */
  async giveUp(id: string, error: string): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries SET status = 'failed', error = $2, lease_until = NULL, next_attempt_at = NULL
       WHERE id = $1`,
      [id, error],
    );
  }

  /** Makes a delivery due again now (manual retry); undefined if it is not this endpoint's. */
  async requeue(db: Queryable, webhookId: string, id: string): Promise<DeliveryRow | undefined> {
    const [row] = await query<DeliveryRow>(
      db,
      `UPDATE webhook_deliveries d SET status = 'retrying', next_attempt_at = now(), window_started_at = now()
       WHERE d.id = $1 AND d.webhook_id = $2 RETURNING ${DELIVERY}`,
      [id, webhookId],
    );
    return row;
  }

  async findDelivery(webhookId: string, id: string): Promise<DeliveryRow | undefined> {
    const [row] = await query<DeliveryRow>(
      this.db,
      `SELECT ${DELIVERY} FROM webhook_deliveries d WHERE d.id = $1 AND d.webhook_id = $2`,
      [id, webhookId],
    );
    return row;
  }

  /** The delivery log, newest first, keyset-paged. */
  deliveries(
    webhookId: string,
    limit: number,
    after?: { at: string; id: string },
  ): Promise<(DeliveryRow & { atKey: string })[]> {
    const params = new Params();
    const where = [`d.webhook_id = ${params.p(webhookId)}`];
    if (after)
      where.push(
        `(d.created_at, d.id) < (${params.p(after.at)}::timestamptz, ${params.p(after.id)}::uuid)`,
      );
    return query(
      this.db,
      `SELECT ${DELIVERY}, d.created_at::text AS "atKey" FROM webhook_deliveries d
       WHERE ${where.join(' AND ')} ORDER BY d.created_at DESC, d.id DESC LIMIT ${params.p(limit + 1)}`,
      params.values,
    );
  }
}
