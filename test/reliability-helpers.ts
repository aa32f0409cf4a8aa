import { randomBytes } from 'node:crypto';
import type { TestApp } from './app';
import { bearer, type TestUser } from './factories';
import { validTx } from './transactions';

/**
 * What the reliability e2e files (reliability-*.e2e-spec.ts) share, and with them the files that
 * load or starve the app (concurrency, pool-discipline).
 */

/** A value no other test uses, to find exactly the rows or entries one test wrote. */
export const marker = (tag: string) => `${tag}-${randomBytes(4).toString('hex')}`;

/** validTx() as these files write it: 10.00 on 2026-03-01. */
export const tx = (over: Record<string, unknown> = {}) =>
  validTx({ amount: '10.00', date: '2026-03-01', ...over });

/**
 * POST /transactions as `user`, with an Idempotency-Key unless `key` is undefined; the caller
 * asserts the answer. Bound to the file's app through a getter, because the file's beforeAll
 * starts the app after this is created.
 */
export const transactionCreator =
  (getApp: () => TestApp) => (user: TestUser, key: string | undefined, body: object) => {
    const req = getApp().http().post('/api/v1/transactions').set(bearer(user));
    if (key !== undefined) req.set('Idempotency-Key', key);
    return req.send(body);
  };
