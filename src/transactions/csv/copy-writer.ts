import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** Rows are sent to the COPY in chunks of about this many characters. */
const CHUNK = 64 * 1024;

/** A value as COPY ... (FORMAT csv) reads it: null unquoted and empty, anything else text. */
export type CopyValue = string | number | null | undefined;

/**
 * One CSV record for COPY ... FROM STDIN (FORMAT csv): null and undefined are the unquoted empty
 * field (NULL); a text is quoted when it is empty (so it stays an empty string), is `\.` (alone on
 * a line, the end-of-data marker) or holds a comma, a quote, CR or LF, with its quotes doubled.
 * That is COPY's whole CSV grammar with the default delimiter, quote and NULL string.
 */
export function copyCsvLine(row: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    if (i > 0) line += ',';
    const value = row[i];
    if (value === null || value === undefined) continue;
    const text = String(value);
    line +=
      text === '' || text === '\\.' || /[",\r\n]/.test(text)
        ? `"${text.replace(/"/g, '""')}"`
        : text;
  }
  return `${line}\n`;
}

/**
 * Rows into a COPY ... FROM STDIN (FORMAT csv) as they are read, with backpressure: the COPY is
 * opened with the first chunk, so an import that writes nothing sends no COPY.
 *
 * Rows are joined into ~64 KiB chunks before they reach pg-copy-streams, which sends every chunk
 * it is given as two socket writes of its own: one row per chunk (csv-stringify piped into it)
 * was a fifth of the app's CPU in a 300k-row import (docs/performance.md, "CSV import and
 * export").
 */
export class CopyWriter {
  private copy?: Writable;
  private copied?: Promise<void>;
  private pending = '';

  constructor(private readonly open: () => Writable) {}

  async write(row: readonly CopyValue[]): Promise<void> {
    this.pending += copyCsvLine(row);
    if (this.pending.length >= CHUNK) await this.send();
  }

  /** Ends the COPY; rejects with the database's error if it refused a row. */
  async finish(): Promise<void> {
    if (this.pending) await this.send();
    if (!this.copy) return;
    this.copy.end();
    await this.copied;
  }

  /** Cancels the COPY (a CopyFail), leaving the connection ready for the ROLLBACK. */
  async abort(): Promise<void> {
    this.pending = '';
    if (!this.copy) return;
    this.copy.destroy(new Error('import cancelled'));
    await this.copied?.catch(() => undefined);
  }

  private async send(): Promise<void> {
    if (!this.copy || !this.copied) {
      this.copy = this.open();
      this.copied = finished(this.copy);
      // Observed by send(), finish() and abort(); nobody waiting must not crash the process.
      this.copied.catch(() => undefined);
    }
    const chunk = this.pending;
    this.pending = '';
    if (!this.copy.write(chunk)) await Promise.race([once(this.copy, 'drain'), this.copied]);
  }
}
