import { PreconditionFailedException } from '@nestjs/common';
import { createHash } from 'node:crypto';

/** A strong validator: the hash of the representation, so any visible change yields a new tag. */
export function etagOf(representation: object): string {
  return `"${createHash('sha256').update(JSON.stringify(representation)).digest('base64url').slice(0, 27)}"`;
}

/** Honours `If-Match` (strong comparison, `*` or a list); without it the update applies. */
export function assertIfMatch(ifMatch: string | undefined, current: object): void {
  if (ifMatch === undefined) return;
  const tag = etagOf(current);
  const accepted = ifMatch.split(',').map((t) => t.trim());
  if (!accepted.includes('*') && !accepted.includes(tag)) {
    throw new PreconditionFailedException(
      'The resource has changed since you read it (If-Match does not match its ETag)',
    );
  }
}
