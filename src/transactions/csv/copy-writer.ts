import { type Stringifier, stringify } from 'csv-stringify';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Rows into a COPY ... FROM STDIN (FORMAT csv) as they are read, with backpressure: the COPY is
 * opened at the first row, so an import that writes nothing sends no COPY. The default quoting
 * (fields with a delimiter, quote, CR or LF) is what COPY's CSV needs.
 */
export class CopyWriter {
  private csv?: Stringifier;
  private copied?: Promise<void>;

  constructor(private readonly open: () => Writable) {}

  async write(row: unknown[]): Promise<void> {
    if (!this.csv || !this.copied) {
      this.csv = stringify();
      this.copied = pipeline(this.csv, this.open());
      // Observed by write(), finish() and abort(); nobody waiting must not crash the process.
      this.copied.catch(() => undefined);
    }
    if (!this.csv.write(row)) await Promise.race([once(this.csv, 'drain'), this.copied]);
  }

  /** Ends the COPY; rejects with the database's error if it refused a row. */
  async finish(): Promise<void> {
    if (!this.csv) return;
    this.csv.end();
    await this.copied;
  }

  /** Cancels the COPY (a CopyFail), leaving the connection ready for the ROLLBACK. */
  async abort(): Promise<void> {
    if (!this.csv) return;
    this.csv.destroy(new Error('import cancelled'));
    await this.copied?.catch(() => undefined);
  }
}
