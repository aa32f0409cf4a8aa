import type { Role } from '../users/entities/user.entity';

/**
 * Who may see and write whose data: the one place the ownership rules live. Routes decide which
 * roles may call them (`@Auth()`); these rules decide, for a caller who got through, which rows.
 * Pure functions, so they are unit-tested without the framework; a refusal is an `AccessDenied`,
 * which the problem filter answers with 403.
 */
export interface Actor {
  id: string;
  role: Role;
}

export class AccessDenied extends Error {}

/** Roles that read every user's data; the others only ever see their own. */
const ORGANISATION_READERS: ReadonlySet<Role> = new Set(['admin']);
/** Roles that may record or change data on another user's behalf. */
const ORGANISATION_WRITERS: ReadonlySet<Role> = new Set(['admin']);

export const readsOrganisation = (actor: Actor): boolean => ORGANISATION_READERS.has(actor.role);

/** The owner a read is confined to: undefined (anyone) for organisation readers, else the caller. */
export const ownRowsOf = (actor: Actor): string | undefined =>
  readsOrganisation(actor) ? undefined : actor.id;

/**
 * Narrowing to other users or to deleted rows (`ownerId=`, `userId=`, `deleted=`) is for
 * organisation readers; anyone else sending such a parameter is refused, not silently ignored.
 */
export function assertMayNarrow(actor: Actor, sent: string[]): void {
  if (sent.length > 0 && !readsOrganisation(actor)) {
    throw new AccessDenied(`Only admins may filter by ${sent.join(' or ')}`);
  }
}

/** Whose row a write creates: the caller's own, or (organisation writers only) the named user's. */
export function writeOwner(actor: Actor, requested: string | undefined): string {
  // A UUID may arrive in upper case; ids are compared, stored and audited in lower case.
  const ownerId = requested?.toLowerCase() ?? actor.id;
  if (ownerId !== actor.id && !ORGANISATION_WRITERS.has(actor.role)) {
    throw new AccessDenied('Only admins may record transactions for another user');
  }
  return ownerId;
}

/** Whether the caller may read the user `id` at all (someone else's id is then "not found"). */
export const mayReadUser = (actor: Actor, id: string): boolean =>
  readsOrganisation(actor) || actor.id === id.toLowerCase();
