/**
 * An erased user (docs/api.md section 17) stays as this tombstone, so the ids that point at it
 * (audit entries, other people's rows it once touched) still resolve; nothing may change it.
 */
export const TOMBSTONE_NAME = 'Erased user';

/** The tombstone's email: unique per user, and in a domain that can never receive mail. */
export const tombstoneEmail = (id: string) => `erased-${id}@invalid`;

export const isErased = (user: { id: string; email: string }): boolean =>
  user.email === tombstoneEmail(user.id);
