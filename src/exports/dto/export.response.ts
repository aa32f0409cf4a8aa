import { ApiProperty } from '@nestjs/swagger';
import type { ExportStatus } from '../exports.repository';

export const EXPORT_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;

/** A personal data export (docs/api.md section 17). */
export class ExportResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  /** Whose data it holds. */
  @ApiProperty({ format: 'uuid' })
  userId!: string;
  /** `succeeded`: `GET /exports/{id}/download` serves the document. */
  @ApiProperty({ enum: EXPORT_STATUSES, enumName: 'ExportStatus' })
  status!: ExportStatus;
  createdAt!: Date;
  /** 7 days after `createdAt`; from then on the export is gone (410) and its content deleted. */
  expiresAt!: Date;
}
