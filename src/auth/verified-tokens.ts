/** What an access token carries that the strategy reads after verifying it. */
export interface AccessPayload {
  sub?: unknown;
  exp?: unknown;
}

/**
 * Access tokens whose signature and claims jsonwebtoken has already verified, by their exact
 * text, until they expire: a client sends the same token on every request for its lifetime, and
 * verifying it (decode, HMAC, claims) was ~5 % of the app's CPU on a cheap read (bench
 * --cpu-prof). A hit skips only that verification; the user is still looked up as active on
 * every request. A token that differs in one byte is another key and goes through the full
 * check; one without a numeric `exp` is never kept. Bounded: past `cap` entries, the oldest goes.
 */
export class VerifiedTokens {
  private readonly byToken = new Map<string, AccessPayload & { exp: number }>();

  constructor(private readonly cap = 10_000) {}

  /** The payload of a verified token that has not expired at `nowMs` (jsonwebtoken's rule). */
  get(token: string, nowMs = Date.now()): AccessPayload | undefined {
    const payload = this.byToken.get(token);
    if (payload === undefined) return undefined;
    if (Math.floor(nowMs / 1000) < payload.exp) return payload;
    this.byToken.delete(token);
    return undefined;
  }

  /** Keeps a payload jsonwebtoken has just verified for `token`. */
  remember(token: string, payload: AccessPayload): void {
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) return;
    if (this.byToken.size >= this.cap && !this.byToken.has(token)) {
      const oldest = this.byToken.keys().next().value;
      if (oldest !== undefined) this.byToken.delete(oldest);
    }
    this.byToken.set(token, { ...payload, exp: payload.exp });
  }
}
