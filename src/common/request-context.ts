import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface RequestContext {
  requestId: string;
  ip: string | undefined;
  /** Set by the authentication guard when the caller signed in with an API key. */
  apiKeyId?: string;
  /**
   * The authenticated caller, once the guards have run: whose writes a read must see
   * (database/replicas/read-routing.ts).
   */
  callerId?: string;
  /** Users whose data this request's writes changed: their reads must see the writes too. */
  touchedUserIds?: Set<string>;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Who is asking, for the audit trail, without threading it through every call. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * A write of this request changed `userId`'s data (an admin's write for another user): that
 * user's next reads must see it, like the caller's own (docs/api.md section 13).
 */
export function touchedUser(userId: string | null): void {
  const request = storage.getStore();
  if (request && userId) (request.touchedUserIds ??= new Set()).add(userId);
}

/**
 * Fastify `preHandler` hook: the handler (guards, interceptors, the route) runs inside the
 * context. Not earlier: the body is read from socket events, which would leave it behind.
 * `req.ip` is already resolved through `trustProxy`.
 */
export function requestContext(req: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  storage.run({ requestId: req.id, ip: req.ip }, done);
}
