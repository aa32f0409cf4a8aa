import { createHmac } from 'node:crypto';
import { JWT_SECRET } from './app';

type Alg = 'HS256' | 'HS512' | 'none';

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Crafts a JWT by hand (no library defaults), so tests can forge exactly the token they mean:
 * another secret, another algorithm, a past `exp`, a foreign issuer.
 */
export function craftToken(
  claims: Record<string, unknown>,
  options: { secret?: string; alg?: Alg } = {},
): string {
  const alg = options.alg ?? 'HS256';
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: 'finance-api', aud: 'finance-api', iat: now, exp: now + 600, ...claims };
  const unsigned = `${encode({ alg, typ: 'JWT' })}.${encode(payload)}`;
  if (alg === 'none') return `${unsigned}.`;
  const digest = alg === 'HS256' ? 'sha256' : 'sha512';
  const signature = createHmac(digest, options.secret ?? JWT_SECRET)
    .update(unsigned)
    .digest('base64url');
  return `${unsigned}.${signature}`;
}

/** The payload of a JWT, unverified (to look at what the app issued). */
export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

export function decodeHeader(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
}
