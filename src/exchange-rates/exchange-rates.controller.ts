import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CsvUpload } from '../common/decorators/csv-upload.decorator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { ProblemResponse } from '../common/problem.response';
import { ImportResultResponse } from '../transactions/dto/import-query.dto';
import type { User } from '../users/entities/user.entity';
import { ExchangeRateKeyDto } from './dto/exchange-rate-key.dto';
import { ExchangeRateListResponse, ExchangeRateResponse } from './dto/exchange-rate.response';
import { ListExchangeRatesDto } from './dto/list-exchange-rates.dto';
import { SetExchangeRateDto } from './dto/set-exchange-rate.dto';
import { ExchangeRatesService } from './exchange-rates.service';

const BAD_KEY =
  'An unknown or lower-case currency (`base`, `quote`), `base` equal to `quote`, or an invalid `date`';

/**
 * Exchange rates: the price of one `base` unit in `quote` on a date, which the dashboards use to
 * report in one currency. Writes are for admins; everyone signed in may read them.
 */
@ApiTags('exchange-rates')
@Controller('exchange-rates')
export class ExchangeRatesController {
  constructor(private readonly rates: ExchangeRatesService) {}

  /**
   * Rates sorted by `base`, then `quote` (alphabetically), then `date` newest first, cursor-paged.
   * `from`/`to` bound the date inclusively. Only stored rates: no inverse or cross rate is derived.
   */
  @Get()
  @Auth('GET /exchange-rates')
  @ApiOkResponse({ type: ExchangeRateListResponse })
  @ApiValidationResponse('Invalid filter, from > to, or a forged cursor')
  list(@Query() q: ListExchangeRatesDto): Promise<ExchangeRateListResponse> {
    return this.rates.list(q);
  }

  /**
   * Import rates from CSV with header base,quote,date,rate (any order and case), as `text/csv` or
   * the `file` field of `multipart/form-data`. Every row is judged like PUT. All or nothing: any bad
   * row gives 422 with `errors: [{ row, field, message }]` (the first 100; `row` is the line, the
   * header being line 1) and writes nothing. Each row is an upsert; when a (base, quote, date)
   * appears more than once, its last row wins, as the same PUTs in file order would. `imported`
   * counts the data rows. With `Idempotency-Key`, the same key and file within 24 h replays the
   * first answer (`Idempotent-Replayed: true`) without importing again.
   */
  @Post('import')
  @CsvUpload()
  @Auth('POST /exchange-rates/import')
  @HttpCode(201)
  @ApiCreatedResponse({ type: ImportResultResponse, description: 'Every row written' })
  @ApiServiceUnavailableResponse({
    type: ProblemResponse,
    description:
      'IMPORT_CONCURRENCY exchange-rate imports are already running on this server; retry after `Retry-After` seconds',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Same key and same file within 24 h replays the first result without importing again',
  })
  @ApiUnprocessableEntityResponse({
    type: ProblemResponse,
    description:
      'Bad header (missing, unknown or repeated column), no data rows, not UTF-8 text, or bad rows (errors: [{row, field, message}]); nothing written. Or an Idempotency-Key used with another file',
  })
  async import(
    @CurrentUser() actor: User,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<ImportResultResponse> {
    const { replayed, ...result } = await this.rates.import(actor, req.raw, res.raw);
    if (replayed) res.header('Idempotent-Replayed', 'true');
    return result;
  }

  /**
   * Set the rate of one `base` unit in `quote` on `date`: created (201) or replaced (200), both
   * answering the rate as stored.
   */
  @Put(':base/:quote/:date')
  @Auth('PUT /exchange-rates/{base}/{quote}/{date}')
  @ApiCreatedResponse({ type: ExchangeRateResponse, description: 'Created' })
  @ApiOkResponse({ type: ExchangeRateResponse, description: 'Replaced the rate of that day' })
  @ApiValidationResponse(`${BAD_KEY}, or an invalid \`rate\``)
  async set(
    @CurrentUser() actor: User,
    @Param() key: ExchangeRateKeyDto,
    @Body() dto: SetExchangeRateDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<ExchangeRateResponse> {
    const { item, created } = await this.rates.set(actor, key, dto.rate);
    res.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return item;
  }

  /** Delete the rate of one day. */
  @Delete(':base/:quote/:date')
  @Auth('DELETE /exchange-rates/{base}/{quote}/{date}')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiValidationResponse(BAD_KEY)
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No rate for that pair and day' })
  async remove(@CurrentUser() actor: User, @Param() key: ExchangeRateKeyDto): Promise<void> {
    await this.rates.remove(actor, key);
  }
}
