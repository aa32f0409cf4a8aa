import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { OptionalDate } from '../../common/decorators/optional-date.decorator';
import { PageLimit } from '../../common/pagination';
import { IsCurrency } from '../../common/validators';

export class ListExchangeRatesDto {
  /** Only rates of this base currency (ISO 4217, upper case). */
  @ApiProperty({ required: false, example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsOptional()
  @IsCurrency()
  base?: string;

  /** Only rates into this quote currency (ISO 4217, upper case). */
  @ApiProperty({ required: false, example: 'USD', pattern: '^[A-Z]{3}$' })
  @IsOptional()
  @IsCurrency()
  quote?: string;

  /** Inclusive first date, `YYYY-MM-DD`. */
  @OptionalDate()
  from?: string;

  /** Inclusive last date, `YYYY-MM-DD`. */
  @OptionalDate()
  to?: string;

  @PageLimit()
  limit?: number;

  /** Empty or absent for the first page, then `meta.nextCursor`. */
  @ApiProperty({ required: false, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}
