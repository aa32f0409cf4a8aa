import { createHash } from 'node:crypto';

/** A strong validator of one version of a resource: changes whenever `updatedAt` does. */
export function etagOf(row: { id: string; updatedAt: Date }): string {
  const version = `${row.id}:${row.updatedAt.toISOString()}`;
  return `"${createHash('sha256').update(version).digest('base64url').slice(0, 27)}"`;
}
