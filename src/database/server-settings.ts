import { totalmem } from 'node:os';

/**
 * The embedded server's settings. PostgreSQL's defaults (128 MB of shared buffers, max_wal_size
 * 1 GB) make a 1M-row CSV import, whose indexes alone take about 400 MB, run
 * through several checkpoints, each followed by full-page images of every index page it touches
 * again: 73-78 s and 2.3 GB of WAL with the defaults, 54-57 s and 1.7 GB with these, on the same
 * server (docs/performance.md, "CSV import and export"). Shared buffers get a quarter of the
 * memory, the usual advice, capped at 1 GB because the app shares the machine. The price: up to
 * about 4 GB of WAL on disk between checkpoints, and a longer recovery after a crash.
 */
export function serverSettings(memoryBytes = availableMemory()): string[] {
  const quarterMb = Math.floor(memoryBytes / 4 / 2 ** 20);
  const sharedBuffersMb = Math.min(1024, Math.max(128, quarterMb));
  return [
    ['shared_buffers', `${sharedBuffersMb}MB`],
    ['max_wal_size', '4GB'],
    ['checkpoint_timeout', '15min'],
    // As the app's sessions ask (data-source-options.ts SESSION_OPTIONS), for every client.
    ['jit', 'off'],
  ].flatMap(([name, value]) => ['-c', `${name}=${value}`]);
}

/** The machine's memory, or a container's limit when it has a lower one (cgroups). */
export function availableMemory(
  total = totalmem(),
  constrained: number | undefined = process.constrainedMemory?.(),
): number {
  // Without a limit it is 0 or 2^64, depending on the Node version.
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}
