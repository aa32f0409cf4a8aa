import { Logger, ServiceUnavailableException } from '@nestjs/common';
import { type Stringifier, stringify } from 'csv-stringify';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

// finance-import-<pid>-<instance>-<uuid>.csv: the pid tells which spool files belong to a process
// that is gone; the instance id tells this process from an earlier one with the same pid (a
// restarted container's node is PID 1 again and keeps its /tmp).
const PREFIX = 'finance-import-';
const INSTANCE = randomUUID().slice(0, 8);
const SPOOL_FILE = /^finance-import-(\d+)-([0-9a-f]{8})-[0-9a-f-]{36}\.csv$/;

/**
 * A temporary file of rows in the CSV form COPY reads, written while an upload is parsed, so the
 * database connection is taken only once the whole upload is in and then held just for the COPY.
 * A file that cannot be written (disk full, too many open files) fails the import with a 503, not
 * the process.
 */
export class Spool {
  readonly path = join(tmpdir(), `${PREFIX}${process.pid}-${INSTANCE}-${randomUUID()}.csv`);
  private readonly csv: Stringifier = stringify();
  // The default quoting (fields with a delimiter, quote, CR or LF) is what COPY's CSV needs.
  private readonly written: Promise<void>;

  constructor() {
    this.written = pipeline(
      this.csv,
      createWriteStream(this.path, { flags: 'wx', mode: 0o600 }),
    ).catch((error: unknown) => {
      throw storageProblem(error);
    });
    // Observed by write() and finish(); a failure nobody waits for must not crash the process.
    this.written.catch(() => undefined);
  }

  async write(row: unknown[]): Promise<void> {
    if (!this.csv.write(row)) await Promise.race([once(this.csv, 'drain'), this.written]);
  }

  async finish(): Promise<void> {
    this.csv.end();
    await this.written;
  }

  async dispose(): Promise<void> {
    this.csv.destroy();
    await this.written.catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }

  /** Removes the spool files of processes that died mid-import (kill -9, a crash). */
  static async sweepOrphans(logger: Logger): Promise<void> {
    const names = await readdir(tmpdir()).catch(() => [] as string[]);
    for (const name of names) {
      const match = SPOOL_FILE.exec(name);
      if (!match) continue;
      const pid = Number(match[1]);
      const mine = pid === process.pid && match[2] === INSTANCE;
      if (mine || (pid !== process.pid && isAlive(pid))) continue;
      await unlink(join(tmpdir(), name)).then(
        () => logger.warn(`removed the spool file ${name} of a process that is gone`),
        () => undefined,
      );
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function storageProblem(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (
    code === undefined ||
    !/^(ENOSPC|EDQUOT|EMFILE|ENFILE|EIO|EROFS|EACCES|ENOENT|ENOTDIR)$/.test(code)
  )
    return error;
  return new ServiceUnavailableException({
    message: `The server cannot store the upload right now (${code}); retry later`,
    headers: { 'Retry-After': '30' },
  });
}
