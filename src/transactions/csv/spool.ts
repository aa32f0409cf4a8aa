import { type Stringifier, stringify } from 'csv-stringify';
import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';

/**
 * A temporary file of rows in the CSV form COPY reads, written while an upload is parsed, so the
 * database connection is taken only once the whole upload is in and then held just for the COPY.
 */
export class Spool {
  readonly path = join(tmpdir(), `finance-import-${randomUUID()}.csv`);
  private readonly file: WriteStream;
  private readonly csv: Stringifier;

  constructor() {
    this.file = createWriteStream(this.path, { flags: 'wx', mode: 0o600 });
    // The default quoting (fields with a delimiter, quote, CR or LF) is what COPY's CSV needs.
    this.csv = stringify();
    this.csv.pipe(this.file);
  }

  async write(row: unknown[]): Promise<void> {
    if (!this.csv.write(row)) await once(this.csv, 'drain');
  }

  async finish(): Promise<void> {
    this.csv.end();
    await finished(this.file);
  }

  async dispose(): Promise<void> {
    this.csv.destroy();
    this.file.destroy();
    await unlink(this.path).catch(() => undefined);
  }
}
