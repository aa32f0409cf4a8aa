/** Waiting in the e2e tests: a plain pause, and polling until something the app does shows. */

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export interface Patience {
  /** How long to keep trying, in ms. */
  ms?: number;
  /** The pause between two tries, in ms. */
  every?: number;
  /** A try that throws counts as "not yet" (e.g. while the app or its database is down). */
  tolerateErrors?: boolean;
}

/**
 * Tries `probe` until it gives a value other than undefined, and returns that value; throws once
 * `ms` (default 20 s) have passed, saying what it waited for (`what` may be a function, to name
 * the last thing seen).
 */
export async function until<T>(
  what: string | (() => string),
  probe: () => T | undefined | Promise<T | undefined>,
  { ms = 20_000, every = 100, tolerateErrors = false }: Patience = {},
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = tolerateErrors
      ? await Promise.resolve()
          .then(probe)
          .catch(() => undefined)
      : await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await sleep(every);
  }
}

/** Tries `check` until it is true; throws once `ms` (default 20 s) have passed. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  patience: Patience = {},
): Promise<void> {
  await until(what, async () => ((await check()) ? true : undefined), patience);
}

/**
 * Reads `probe` until `done` holds for what it gives or `ms` (default 5 s) have passed, and
 * returns the last value read either way: the caller asserts on it, so a timeout fails with the
 * test's own expectation.
 */
export async function readUntil<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  { ms = 5_000, every = 100 }: Omit<Patience, 'tolerateErrors'> = {},
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(every);
  }
}
