import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ValidateBy, type ValidationOptions } from 'class-validator';
import { MAX_RATE_DECIMALS, MAX_RATE_DIGITS, parseRate } from '../rate';
import { ExchangeRateKeyDto } from './exchange-rate-key.dto';

/** A rate as `rate.ts` defines it. */
const IsRate = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isRate',
      validator: {
        validate: (value: unknown) => parseRate(value) !== undefined,
        defaultMessage: (args) =>
          `${args?.property} must be a decimal string like "1.0845" greater than zero, with at most ${MAX_RATE_DECIMALS} decimals and ${MAX_RATE_DIGITS} significant digits`,
      },
    },
    options,
  );

/** An accepted JSON number becomes its decimal string, so nothing downstream sees a float. */
const RateString = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'number' ? (parseRate(value) ?? value) : value,
  );

export class SetExchangeRateDto {
  /**
   * The price of one `base` unit in `quote`: a decimal string greater than zero with at most 10
   * decimals and at most 18 significant digits (`"1.0845"`). A JSON number is accepted only when
   * it prints as such a decimal (no exponent). Stored and answered without leading zeros or
   * trailing zeros after the point (`"1.50"` reads back as `"1.5"`).
   */
  @ApiProperty({ type: String, example: '1.0845', pattern: '^\\d+(\\.\\d{1,10})?$' })
  @RateString()
  @IsRate()
  rate!: string;
}

/** One data row of the CSV import: the path's rules and the body's, as PUT applies them. */
export class ExchangeRateRowDto extends ExchangeRateKeyDto {
  @RateString()
  @IsRate()
  rate!: string;
}
