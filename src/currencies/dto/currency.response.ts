import { ApiProperty } from '@nestjs/swagger';

export class CurrencyResponse {
  /** ISO 4217 alphabetic code. */
  @ApiProperty({ example: 'JPY' })
  code!: string;
  @ApiProperty({ example: 'Yen' })
  name!: string;
  /** Decimals an amount in this currency carries (ISO 4217 minor units): 0, 2 or 3. */
  @ApiProperty({ example: 0, minimum: 0, maximum: 3 })
  minorUnits!: number;
}

export class CurrencyListResponse {
  data!: CurrencyResponse[];
}
