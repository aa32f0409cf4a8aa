/** The changes that emit an event (docs/api.md sections 12 and 14). */
export const EVENT_TYPES = [
  'transaction.created',
  'transaction.updated',
  'transaction.deleted',
  'transaction.restored',
  'transaction.purged',
  'transactions.imported',
  'user.created',
  'user.updated',
  'user.erased',
  'account.created',
  'account.updated',
  'transfer.created',
  'transfer.deleted',
  'transfer.restored',
  'transfer.purged',
  'budget.threshold_crossed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event as stored and as it leaves the API (through `presentEvent` only). */
export interface StoredEvent {
  id: string;
  type: EventType;
  occurredAt: Date;
  actorId: string | null;
  data: Record<string, unknown>;
}
