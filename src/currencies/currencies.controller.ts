import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CURRENCIES } from '../common/currencies';
import { Auth } from '../common/decorators/roles.decorator';
import { CurrencyListResponse } from './dto/currency.response';

@ApiTags('currencies')
@Controller('currencies')
export class CurrenciesController {
  /**
   * Every currency an amount may be kept in, by code: ISO 4217 codes with 0-3 minor units (metals,
   * fund and testing codes have none and are not accepted).
   */
  @Get()
  @Auth('GET /currencies')
  @ApiOkResponse({ type: CurrencyListResponse })
  list(): CurrencyListResponse {
    return { data: [...CURRENCIES] };
  }
}
