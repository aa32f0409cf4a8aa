import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Opaque keyset cursors: base64url(JSON) plus an HMAC, so a client can neither read meaning into
 * them nor forge one that the server would trust.
 */
export class CursorCodec {
  private readonly key: Buffer;

  constructor(secret: string, purpose: string) {
    this.key = createHmac('sha256', secret).update(`cursor:${purpose}`).digest();
  }

  encode(value: object): string {
    const body = Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** Returns the decoded value, or undefined for anything malformed or tampered with. */
  decode<T>(cursor: string): T | undefined {
    const [body, signature, extra] = cursor.split('.');
    if (!body || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/**
 * One keyset page from `limit + 1` fetched rows: the first `limit`, and the cursor that continues
 * after the last of them, or null when the extra row shows there is nothing more.
 */
export function keysetPage<R>(
  rows: R[],
  limit: number,
  codec: CursorCodec,
  keyOf: (last: R) => object,
): { rows: R[]; nextCursor: string | null } {
  if (rows.length <= limit) return { rows, nextCursor: null };
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: codec.encode(keyOf(page[page.length - 1])) };
}
