import { ApiProperty } from '@nestjs/swagger';

export const ERASURE_STATUSES = ['queued', 'erased'] as const;
export type ErasureStatus = (typeof ERASURE_STATUSES)[number];

/** The answer to `POST /users/:id/erase`; `Location` is the user, whose GET shows the tombstone. */
export class ErasureResponse {
  /** The user being erased. */
  @ApiProperty({ format: 'uuid' })
  userId!: string;
  /** `queued`: the user is deactivated and the erasure job will run; `erased`: it already has. */
  @ApiProperty({ enum: ERASURE_STATUSES })
  status!: ErasureStatus;
}
