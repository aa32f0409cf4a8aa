import type { Actor } from '../common/access';
import type { StoredEvent } from './event-types';

/**
 * The one way an event leaves the API, in the feed and in webhook payloads: `reader` is who will
 * read it (the feed's caller; for a webhook, the admin who owns the endpoint). Field masking per
 * API.md section 11 plugs in here, so no path can hand out an unmasked event. Until the policy
 * exists, admins see everything and everyone else only events about their own data, unmasked.
 */
export function presentEvent(reader: Actor | null, event: StoredEvent): StoredEvent {
  void reader;
  return {
    id: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    actorId: event.actorId,
    data: event.data,
  };
}
