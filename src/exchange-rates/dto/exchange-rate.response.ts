import { ApiProperty } from '@nestjs/swagger';

export class ExchangeRateResponse {
  @ApiProperty({ example: 'EUR', pattern: '^[A-Z]{3}$' })
  base!: string;
  @ApiProperty({ example: 'USD', pattern: '^[A-Z]{3}$' })
  quote!: string;
  @ApiProperty({ format: 'date', example: '2026-03-14' })
  date!: string;
  /** One `base` unit in `quote`, as stored: no leading zeros, no trailing zeros after the point. */
  @ApiProperty({ example: '1.0845', pattern: '^\\d+(\\.\\d{1,10})?$' })
  rate!: string;
}

export class ExchangeRateCursorMeta {
  limit!: number;
  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export class ExchangeRateListResponse {
  data!: ExchangeRateResponse[];
  meta!: ExchangeRateCursorMeta;
}
