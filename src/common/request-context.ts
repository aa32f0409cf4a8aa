import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

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

/** Runs after the request-id middleware and Express's `trust proxy` resolution of `req.ip`. */
export function requestContext(req: Request, _res: Response, next: NextFunction): void {
  storage.run({ requestId: typeof req.id === 'string' ? req.id : '', ip: req.ip }, next);
}
