import type { Role } from './roles';

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
const ORGANISATION_READERS: ReadonlySet<Role> = new Set(['admin', 'auditor']);
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
    throw new AccessDenied(`Only admins and auditors may filter by ${sent.join(' or ')}`);
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

/**
 * Through an API key a user is never given a password or the admin role, on create or update: a
 * leaked key with an admin's `users:write` could otherwise make an admin with a password of its
 * choosing (or set its owner's), sign in and mint keys, which docs/api.md section 10 promises a
 * leaked key cannot do. Both take a signed-in session. A user a key creates has no password.
 */
export function assertKeyMayWriteUser(
  viaApiKey: boolean,
  change: { role?: Role; password?: unknown },
): void {
  if (!viaApiKey) return;
  const refused = [
    ...(change.password !== undefined ? ['set passwords'] : []),
    ...(change.role === 'admin' ? ['give the admin role'] : []),
  ];
  if (refused.length > 0) {
    throw new AccessDenied(`API keys cannot ${refused.join(' or ')}; sign in instead`);
  }
}

/**
 * Through an API key, an existing admin is out of reach: a leaked key with `users:write` must not
 * rename, demote or deactivate the people who could revoke it.
 */
export function assertKeyMayChangeUser(viaApiKey: boolean, target: { role: Role }): void {
  if (viaApiKey && target.role === 'admin') {
    throw new AccessDenied('API keys cannot change an admin; sign in instead');
  }
}

/**
 * The owner a change to an existing row is confined to: undefined (anyone's) for organisation
 * writers, else the caller's own; someone else's row is then simply not found.
 */
export const ownWritesOf = (actor: Actor): string | undefined =>
  ORGANISATION_WRITERS.has(actor.role) ? undefined : actor.id;

/** Whose API keys the caller may see and revoke: anyone's for admins, otherwise only its own. */
export const keysOf = (actor: Actor): string | undefined =>
  ORGANISATION_WRITERS.has(actor.role) ? undefined : actor.id;

/**
 * Personal data export (docs/api.md section 17): whose data the caller may export. Oneself, and
 * admins anyone. An auditor reads other users (so for it they exist) but may not take a copy of
 * their whole, unmasked data: 403. Anyone else is never told another user exists: 404, as
 * `GET /users/:id` answers them (`mayReadUser`, checked first).
 */
export function assertMayExport(actor: Actor, userId: string): void {
  if (actor.id !== userId.toLowerCase() && !ORGANISATION_WRITERS.has(actor.role)) {
    throw new AccessDenied('Only admins may export another user’s data');
  }
}

/**
 * Whose exports the caller may read and download: the ones it asked for; admins any. An export
 * is a person's whole data unmasked, so organisation readers (auditors) are not admitted.
 */
export const exportsOf = (actor: Actor): string | undefined =>
  ORGANISATION_WRITERS.has(actor.role) ? undefined : actor.id;

/** Whether the caller may read the user `id` at all (someone else's id is then "not found"). */
export const mayReadUser = (actor: Actor, id: string): boolean =>
  readsOrganisation(actor) || actor.id === id.toLowerCase();

/**
 * Field masking (docs/api.md section 11): per role, the fields of *other people's* data it reads
 * masked. Admins see everything; auditors read the organisation without its notes and email
 * addresses; analysts and viewers only ever read their own data, and should a route ever show
 * them someone else's, it shows it masked.
 */
export const MASKED_FIELDS: Readonly<Record<Role, { notes: boolean; email: boolean }>> = {
  admin: { notes: false, email: false },
  auditor: { notes: true, email: true },
  analyst: { notes: true, email: true },
  viewer: { notes: true, email: true },
};

export const MASKED_NOTES = '[masked]';

/** `alice@example.com` → `a***@example.com`: enough to tell people apart, not to write to them. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const first = Array.from(email)[0] ?? '';
  return at < 0 ? `${first}***` : `${first}***${email.slice(at)}`;
}

const maskNotes = (notes: unknown): unknown =>
  typeof notes === 'string' && notes !== '' ? MASKED_NOTES : notes;

/**
 * A transaction (or a transfer: its notes follow the same policy) as `reader` may see it: notes
 * masked on other people's rows where the policy says so.
 */
export function maskTransaction<T extends { ownerId: string; notes?: string | null }>(
  reader: Actor,
  row: T,
): T {
  if (!MASKED_FIELDS[reader.role].notes || row.ownerId === reader.id) return row;
  return { ...row, notes: maskNotes(row.notes) as T['notes'] };
}

/** A user as `reader` may see it: another user's email masked where the policy says so. */
export function maskUser<T extends { id: string; email: string }>(reader: Actor, user: T): T {
  if (!MASKED_FIELDS[reader.role].email || user.id === reader.id) return user;
  return { ...user, email: maskEmail(user.email) };
}

/**
 * Whether `reader` reads other people's rows with their notes masked. Its search (`q`) then skips
 * notes, or it would reveal what the mask hides one guessed word at a time.
 */
export const masksOthersNotes = (reader: Actor): boolean =>
  MASKED_FIELDS[reader.role].notes && readsOrganisation(reader);

/** Whether `reader` reads other users with their emails masked (its user search then skips emails). */
export const masksOthersEmails = (reader: Actor): boolean =>
  MASKED_FIELDS[reader.role].email && readsOrganisation(reader);

type Change = unknown;

/**
 * An audit entry's `changes` as `reader` may see them. The entry names the row, not its owner, so
 * a masking reader sees the notes of every transaction entry masked, its own included; emails are
 * masked except in entries about the reader itself.
 */
export function maskChanges(
  reader: Actor,
  entry: { entityType: string; entityId: string | null },
  changes: Record<string, Change> | null,
): Record<string, Change> | null {
  if (!changes) return changes;
  const policy = MASKED_FIELDS[reader.role];
  const masks: Record<string, (v: unknown) => unknown> = {};
  if (policy.notes && (entry.entityType === 'transaction' || entry.entityType === 'transfer'))
    masks.notes = maskNotes;
  if (policy.email && !(entry.entityType === 'user' && entry.entityId === reader.id)) {
    masks.email = (v) => (typeof v === 'string' ? maskEmail(v) : v);
  }
  if (Object.keys(masks).length === 0) return changes;
  return Object.fromEntries(
    Object.entries(changes).map(([field, change]) => {
      const mask = masks[field];
      if (!mask) return [field, change];
      if (
        change !== null &&
        typeof change === 'object' &&
        'before' in change &&
        'after' in change
      ) {
        return [field, { before: mask(change.before), after: mask(change.after) }];
      }
      return [field, mask(change)];
    }),
  );
}
