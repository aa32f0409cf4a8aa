import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type Queryable, query } from '../../database/sql';
import type { ImportRowError } from '../dto/import-query.dto';

export interface ImportRow {
  id: string;
  requestedBy: string;
  ownerId: string;
  mode: 'all' | 'partial';
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  rowsRead: number;
  rowsImported: number;
  skipped: number;
  errors: ImportRowError[];
  detail: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const COLUMNS = `id, requested_by AS "requestedBy", owner_id AS "ownerId", mode, status,
  rows_read AS "rowsRead", rows_imported AS "rowsImported", skipped, errors, detail,
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

/** Every query on `imports` and `import_files`. */
@Injectable()
export class ImportsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(
    db: Queryable,
    i: { requestedBy: string; ownerId: string; mode: 'all' | 'partial'; content: Buffer },
  ): Promise<ImportRow> {
    const [row] = await query<ImportRow>(
      db,
      `INSERT INTO imports (requested_by, owner_id, mode) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
      [i.requestedBy, i.ownerId, i.mode],
    );
    await db.query(`INSERT INTO import_files (import_id, content) VALUES ($1, $2)`, [
      row.id,
      i.content,
    ]);
    return row;
  }

  /** `requestedBy` undefined: anyone's (organisation readers). */
  async find(id: string, requestedBy?: string): Promise<ImportRow | undefined> {
    const [row] = await query<ImportRow>(
      this.db,
      `SELECT ${COLUMNS} FROM imports WHERE id = $1 AND ($2::uuid IS NULL OR requested_by = $2)`,
      [id, requestedBy ?? null],
    );
    return row;
  }

  /**
   * Starts (or, after a crash, restarts from the beginning: nothing of an unfinished import was
   * committed) a queued or running import; undefined when it is already finished.
   */
  async start(id: string): Promise<(ImportRow & { content: Buffer }) | undefined> {
    const [row] = await query<ImportRow & { content: Buffer }>(
      this.db,
      `WITH started AS (
         UPDATE imports SET status = 'running', started_at = now(), rows_read = 0
         WHERE id = $1 AND status IN ('queued', 'running') RETURNING *)
       SELECT s.id, s.requested_by AS "requestedBy", s.owner_id AS "ownerId", s.mode, f.content
       FROM started s JOIN import_files f ON f.import_id = s.id`,
      [id],
    );
    return row;
  }

  async progress(id: string, rowsRead: number): Promise<void> {
    await this.db.query(`UPDATE imports SET rows_read = $2 WHERE id = $1 AND status = 'running'`, [
      id,
      rowsRead,
    ]);
  }

  /** The outcome, through `db` (a success commits with the rows it wrote); the file is dropped. */
  async finish(
    db: Queryable,
    id: string,
    o: {
      status: 'succeeded' | 'failed';
      rowsRead: number;
      rowsImported: number;
      skipped: number;
      errors: ImportRowError[];
      detail: string | null;
    },
  ): Promise<void> {
    await db.query(
      `UPDATE imports SET status = $2, rows_read = $3, rows_imported = $4, skipped = $5,
         errors = $6::jsonb, detail = $7, finished_at = now()
       WHERE id = $1`,
      [id, o.status, o.rowsRead, o.rowsImported, o.skipped, JSON.stringify(o.errors), o.detail],
    );
    await db.query(`DELETE FROM import_files WHERE import_id = $1`, [id]);
  }
}
