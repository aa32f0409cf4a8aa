import { ApiProperty } from '@nestjs/swagger';

export class FieldError {
  /** The offending field (dotted path for nested input, `row` for CSV rows). */
  field!: string;
  message!: string;
}

/** An exchange rate a conversion needed and did not find (docs/api.md, "Reporting currency"). */
export class MissingRateResponse {
  /** The transactions' currency. */
  @ApiProperty({ example: 'JPY' })
  from!: string;
  /** The reporting currency. */
  @ApiProperty({ example: 'EUR' })
  to!: string;
  /** The transactions' date. */
  @ApiProperty({ format: 'date', example: '2026-03-14' })
  date!: string;
}

/** RFC 9457 problem details, the body of every error response. */
export class ProblemResponse {
  /** A URI reference identifying the problem type; `about:blank` means "see the status code". */
  @ApiProperty({ example: 'about:blank' })
  type!: string;
  @ApiProperty({ example: 'Bad Request' })
  title!: string;
  @ApiProperty({ example: 400 })
  status!: number;
  @ApiProperty({ example: 'Validation failed' })
  detail!: string;
  /** The request path. */
  @ApiProperty({ example: '/api/v1/transactions' })
  instance!: string;
  /** Same id as the `X-Request-Id` response header and the logs. */
  requestId!: string;
  /** Every offending field, on validation errors. */
  errors?: FieldError[];
  /**
   * On a 422 from a figure in a reporting currency: the rates it lacks, one per currency and date,
   * oldest first, the first 100.
   */
  @ApiProperty({ type: [MissingRateResponse], required: false })
  missingRates?: MissingRateResponse[];
}
