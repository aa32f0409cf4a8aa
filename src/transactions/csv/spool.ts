import { Logger, ServiceUnavailableException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// finance-import-<pid>-<instance>-<uuid>.csv: the pid tells which spool files belong to a process
// that is gone; the instance id tells this process from an earlier one with the same pid (a
// restarted container's node is PID 1 again and keeps its /tmp).
const PREFIX = 'finance-import-';
const INSTANCE = randomUUID().slice(0, 8);
const SPOOL_FILE = /^finance-import-(\d+)-([0-9a-f]{8})-[0-9a-f-]{36}\.csv$/;

/**
 * A temporary file holding an upload as received, so the database connection is taken only once
 * the whole upload is in (a slow upload holds none); the rows are then parsed from it straight
 * into the COPY. A file that cannot be written (disk full, too many open files) fails the import
 * with a 503, not the process.
 */
export class Spool {
  readonly path = join(tmpdir(), `${PREFIX}${process.pid}-${INSTANCE}-${randomUUID()}.csv`);

  /** Writes the whole upload to the file; an upload error (413, 408, bad UTF-8) rejects as is. */
  async receive(upload: Readable): Promise<void> {
    const file = createWriteStream(this.path, { flags: 'wx', mode: 0o600 });
    let fileFailed: unknown;
    file.once('error', (error) => (fileFailed = error));
    try {
      await pipeline(upload, file);
    } catch (error) {
      // The upload is destroyed when the file fails; the file's error says why.
      throw fileFailed === undefined ? error : storageProblem(fileFailed);
    }
  }

  read(): Readable {
    return createReadStream(this.path);
  }

  async dispose(): Promise<void> {
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
