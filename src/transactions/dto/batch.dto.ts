import { ApiExtraModels, ApiProperty, getSchemaPath, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ProblemResponse } from '../../common/problem.response';
import { CreateTransactionDto } from './create-transaction.dto';
import { UpdateTransactionDto } from './update-transaction.dto';

export const BATCH_OPS = ['create', 'update', 'delete', 'restore'] as const;
export type BatchOp = (typeof BATCH_OPS)[number];

/** More is a 413 (docs/api.md section 15). */
export const MAX_BATCH_OPERATIONS = 500;

/** The JSON body limit of the batch route (every other route: 1 MiB). */
export const BATCH_BODY_LIMIT = 8 * 1024 * 1024;

const needsId = (o: BatchOperationDto) => o.op !== 'create';
const needsData = (o: BatchOperationDto) => o.op === 'create' || o.op === 'update';

/**
 * One operation as the request pipe checks its shape (`op`, and the members that op needs); the
 * OpenAPI document describes the four shapes below instead. `data` is judged later, per
 * operation, by its single route's DTO.
 */
export class BatchOperationDto {
  @IsIn(BATCH_OPS)
  op!: BatchOp;

  @ValidateIf(needsId)
  @IsUUID('all')
  id?: string;

  @ValidateIf(needsData)
  @IsObject()
  data?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  ifMatch?: string;
}

/** `POST /transactions` as an operation. */
export class BatchCreateOperation {
  @ApiProperty({ enum: ['create'] })
  op!: 'create';
  data!: CreateTransactionDto;
}

/** `PATCH /transactions/{id}` as an operation. */
export class BatchUpdateOperation {
  @ApiProperty({ enum: ['update'] })
  op!: 'update';
  @ApiProperty({ format: 'uuid' })
  id!: string;
  data!: UpdateTransactionDto;
  /** The update's `If-Match`: the ETag it is conditional on (412 when the row has changed). */
  @ApiProperty({ required: false, maxLength: 1000 })
  ifMatch?: string;
}

/** `DELETE /transactions/{id}` as an operation. */
export class BatchDeleteOperation {
  @ApiProperty({ enum: ['delete'] })
  op!: 'delete';
  @ApiProperty({ format: 'uuid' })
  id!: string;
}

/** `POST /transactions/{id}/restore` as an operation. */
export class BatchRestoreOperation {
  @ApiProperty({ enum: ['restore'] })
  op!: 'restore';
  @ApiProperty({ format: 'uuid' })
  id!: string;
}

const OPERATION_SCHEMAS = {
  create: BatchCreateOperation,
  update: BatchUpdateOperation,
  delete: BatchDeleteOperation,
  restore: BatchRestoreOperation,
};

@ApiExtraModels(...Object.values(OPERATION_SCHEMAS))
export class BatchRequestDto {
  /** All or nothing (default), or each operation on its own. */
  @ApiProperty({ required: false, default: true })
  @IsOptional()
  @IsBoolean()
  atomic?: boolean;

  /** 1–500 operations, run in this order. */
  @ApiProperty({
    type: 'array',
    minItems: 1,
    maxItems: MAX_BATCH_OPERATIONS,
    items: {
      oneOf: Object.values(OPERATION_SCHEMAS).map((c) => ({ $ref: getSchemaPath(c) })),
      discriminator: {
        propertyName: 'op',
        mapping: Object.fromEntries(
          Object.entries(OPERATION_SCHEMAS).map(([op, c]) => [op, getSchemaPath(c)]),
        ),
      },
    },
  })
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => BatchOperationDto)
  operations!: BatchOperationDto[];
}

/** The DTO each operation's `data` is validated with. */
export const DATA_DTO = { create: CreateTransactionDto, update: UpdateTransactionDto } as const;

/**
 * A failed operation's problem (`atomic: false`), as its single route would have answered it;
 * the batch's own `instance` and `requestId` are not repeated in it.
 */
export class OperationProblem extends OmitType(ProblemResponse, [
  'instance',
  'requestId',
] as const) {}

export class BatchResult {
  /** The operation's position in `operations`, from 0. */
  @ApiProperty({ minimum: 0 })
  index!: number;
  /** The single route's status: 201 create, 200 update and restore, 204 delete, or its failure. */
  @ApiProperty({ example: 201 })
  status!: number;
  /** The transaction (absent when a create failed). */
  @ApiProperty({ required: false, format: 'uuid' })
  id?: string;
  /** The transaction's new ETag (create, update, restore). */
  @ApiProperty({ required: false })
  etag?: string;
  /** Why the operation failed (`atomic: false` only), as the single route's problem body. */
  @ApiProperty({ required: false, type: OperationProblem })
  problem?: OperationProblem;
}

export class BatchResponse {
  /** One per operation, in input order. */
  results!: BatchResult[];
}

/** One failure of an atomic batch. */
export class BatchError {
  /** The operation's position in `operations`, from 0. */
  @ApiProperty({ minimum: 0 })
  index!: number;
  /** What its single route would have answered: 400, 403, 404, 409, 412 or 422. */
  @ApiProperty({ example: 404 })
  status!: number;
  /** The single route's field, when the failure is about one. */
  field?: string;
  message!: string;
}

/** The 422 of an atomic batch that wrote nothing. */
export class BatchProblemResponse extends OmitType(ProblemResponse, ['errors'] as const) {
  /** Every invalid or forbidden operation, or else the first that failed. */
  errors?: BatchError[];
}
