import { ApiProperty } from '@nestjs/swagger';
import { IsCalendarDate, IsCurrencyCode } from '../../common/validators';

/** The path of one rate: `/exchange-rates/{base}/{quote}/{date}`. */
export class ExchangeRateKeyDto {
  /** The currency one unit of which the rate prices: an upper-case ISO 4217 code. */
  @ApiProperty({ example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsCurrencyCode()
  base!: string;

  /** The currency the rate is expressed in: an upper-case ISO 4217 code other than `base`. */
  @ApiProperty({ example: 'USD', pattern: '^[A-Z]{3}$' })
  @IsCurrencyCode()
  quote!: string;

  /** The day the rate is for, `YYYY-MM-DD`, a real date between 1900-01-01 and 2999-12-31. */
  @ApiProperty({ format: 'date', example: '2026-03-14' })
  @IsCalendarDate()
  date!: string;
}
