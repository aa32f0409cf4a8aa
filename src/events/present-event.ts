import { type Actor, maskTransaction, maskUser, ownRowsOf } from '../common/access';
import type { StoredEvent } from './event-types';

/**
 * The one way an event leaves the API, in the feed and in webhook payloads: `reader` is who will
 * read it (the feed's caller; for a webhook, the admin who owns the endpoint). The masking policy
 * of access.ts applies to `data`, the resource after the change, as it does to the resource's
 * own routes: an auditor reads other people's notes and emails masked.
 */
export function presentEvent(reader: Actor, event: StoredEvent): StoredEvent {
  return {
    id: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    actorId: event.actorId,
    data: maskedData(reader, event),
  };
}

/**
 * Whether `reader` may see `event` at all, by the feed's rule: organisation readers every event,
 * the others those about their own transactions, accounts and transfers (user events carry no
 * owner). A webhook's owner
 * demoted from admin keeps its endpoint, but no longer receives what it could not read.
 */
export function eventVisibleTo(reader: Actor, event: StoredEvent): boolean {
  const own = ownRowsOf(reader);
  return own === undefined || event.data.ownerId === own;
}

function maskedData(reader: Actor, event: StoredEvent): Record<string, unknown> {
  const data = event.data;
  // A transfer's notes are masked like a transaction's (docs/api.md section 14).
  if (
    (event.type.startsWith('transaction.') || event.type.startsWith('transfer.')) &&
    typeof data.ownerId === 'string'
  ) {
    return maskTransaction(reader, data as { ownerId: string; notes?: string | null });
  }
  if (
    event.type.startsWith('user.') &&
    typeof data.id === 'string' &&
    typeof data.email === 'string'
  ) {
    return maskUser(reader, data as { id: string; email: string });
  }
  return data;
}
