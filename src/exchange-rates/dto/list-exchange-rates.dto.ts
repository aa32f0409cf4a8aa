import { ApiProperty } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { CursorQueryDto } from '../../common/pagination';
import { IsCurrencyCode } from '../../common/validators';

export class ListExchangeRatesDto extends CursorQueryDto {
  /** Only rates of this base currency (ISO 4217, upper case). */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsOptional()
  @IsCurrencyCode()
  base?: string;

  /** Only rates into this quote currency (ISO 4217, upper case). */
  @ApiProperty({ required: false, example: 'USD', pattern: '^[A-Z]{3}$' })
  @IsOptional()
  @IsCurrencyCode()
  quote?: string;

  /** Inclusive first date, `YYYY-MM-DD`. */
  @OptionalDate()
  from?: string;

  /** Inclusive last date, `YYYY-MM-DD`. */
  @OptionalDate()
  to?: string;
}
