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
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Who is asking, for the audit trail, without threading it through every call. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Fastify `preHandler` hook: the handler (guards, interceptors, the route) runs inside the
 * context. Not earlier: the body is read from socket events, which would leave it behind.
 * `req.ip` is already resolved through `trustProxy`.
 */
export function requestContext(req: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  storage.run({ requestId: req.id, ip: req.ip }, done);
}
