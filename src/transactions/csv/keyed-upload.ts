import type { Hash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type HeldClaim,
  IdempotencyService,
  mismatch,
} from '../../idempotency/idempotency.service';
import { csvUpload, type UploadLimits } from './csv-source';

export type KeyedOutcome<T> = { replayed: true; body: unknown } | { replayed: false; result: T };

/**
 * A CSV import under an `Idempotency-Key` (`header`): a finished import with the same key and the
 * same file is replayed without writing (the stored body); the same key with another file is a
 * 422; one in flight, a 409. The file's hash is only known once it is read, so a replay
 * candidate's upload is read and hashed first. Otherwise `run` imports under the claim, which is
 * kept alive while it runs (not past the response: a request that never ends must not renew it
 * forever) and released if it fails.
 */
export async function keyedUpload<T>(
  keys: IdempotencyService,
  u: {
    actorId: string;
    header: string | string[];
    req: IncomingMessage;
    res: ServerResponse;
    limits: UploadLimits;
    /** A fresh hash of what the key stands for, fed the file's bytes as they are read. */
    hash: () => Hash;
  },
  run: (claim: HeldClaim) => Promise<T>,
): Promise<KeyedOutcome<T>> {
  const claim = await keys.claim(u.actorId, IdempotencyService.checkKey(u.header), null);
  if (claim.kind === 'replay') {
    const hash = u.hash();
    const upload = await csvUpload(u.req, u.limits, hash);
    for await (const _chunk of upload); // read it all: the hash is complete at the end
    if (hash.digest('hex') !== claim.hash) throw mismatch();
    return { replayed: true, body: claim.response.body };
  }
  const stopRenewing = keys.keepAlive(claim.claim);
  u.res.once('close', stopRenewing);
  try {
    return { replayed: false, result: await run(claim.claim) };
  } catch (error) {
    await keys.release(claim.claim);
    throw error;
  } finally {
    stopRenewing();
  }
}
