/**
 * The roles a user can hold. Declared here, not on the users module's entity, because the
 * permission table, the access rules and the guards in common/ are written in terms of them and
 * common/ imports no feature module; the entity's `role` column uses this list.
 */
export const ROLES = ['admin', 'analyst', 'viewer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];
