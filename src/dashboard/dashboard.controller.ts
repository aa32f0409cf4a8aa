import { Controller, Get, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  ApiMissingRatesResponse,
  ApiValidationResponse,
} from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { ProblemResponse } from '../common/problem.response';
import { TransactionResponse } from '../transactions/dto/transaction.response';
import type { User } from '../users/entities/user.entity';
import { DashboardService } from './dashboard.service';
import {
  CategoriesQueryDto,
  DashboardQueryDto,
  ForecastQueryDto,
  RecentQueryDto,
  TrendsQueryDto,
} from './dto/dashboard-query.dto';
import {
  CategoryTotalResponse,
  DashboardResponse,
  ForecastResponse,
  SummaryResponse,
  TrendPointResponse,
} from './dto/dashboard.response';

const RANGE_ERRORS = 'Invalid range: bad dates, from > to, or range together with from/to';
const NO_USER = { type: ProblemResponse, description: '`userId` names no user' };

/**
 * Analytics over live (not deleted) transactions. Admins see the whole organisation unless they
 * pass `userId`; everyone else sees only their own data. Computed from daily/monthly rollups.
 */
@ApiTags('dashboard')
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  /** The overview, shaped by role: viewer {summary, recent}; analyst adds categories and monthly trends; admin adds byUser and users. */
  @Get()
  @Auth('GET /dashboard')
  @ApiMissingRatesResponse()
  @ApiOkResponse({ type: DashboardResponse })
  @ApiValidationResponse(RANGE_ERRORS)
  @ApiNotFoundResponse(NO_USER)
  overview(@CurrentUser() actor: User, @Query() q: DashboardQueryDto): Promise<DashboardResponse> {
    return this.dashboard.overview(actor, q);
  }

  /** Total income, total expenses, net balance and count over the range. */
  @Get('summary')
  @Auth('GET /dashboard/summary')
  @ApiMissingRatesResponse()
  @ApiOkResponse({ type: SummaryResponse })
  @ApiValidationResponse(RANGE_ERRORS)
  @ApiNotFoundResponse(NO_USER)
  summary(@CurrentUser() actor: User, @Query() q: DashboardQueryDto): Promise<SummaryResponse> {
    return this.dashboard.summary(actor, q);
  }

  /** Latest transactions by date, then createdAt, newest first. */
  @Get('recent')
  @Auth('GET /dashboard/recent')
  @ApiOkResponse({ type: [TransactionResponse] })
  @ApiValidationResponse(RANGE_ERRORS)
  @ApiNotFoundResponse(NO_USER)
  recent(@CurrentUser() actor: User, @Query() q: RecentQueryDto): Promise<TransactionResponse[]> {
    return this.dashboard.recent(actor, q);
  }

  /** Totals per category and type with each one's share of its type's total, largest first (analyst, admin). */
  @Get('categories')
  @Auth('GET /dashboard/categories')
  @ApiMissingRatesResponse()
  @ApiOkResponse({ type: [CategoryTotalResponse] })
  @ApiValidationResponse(RANGE_ERRORS)
  @ApiNotFoundResponse(NO_USER)
  categories(
    @CurrentUser() actor: User,
    @Query() q: CategoriesQueryDto,
  ): Promise<CategoryTotalResponse[]> {
    return this.dashboard.categories(actor, q);
  }

  /**
   * Income, expenses and net per month, ISO week or year, every period of the range present
   * (zeros filled). With range `all`, periods run from the first transaction to today (analyst, admin).
   * Weekly trends over more than 10,000 weeks are a 400: narrow the range or use month or year.
   */
  @Get('trends')
  @Auth('GET /dashboard/trends')
  @ApiMissingRatesResponse()
  @ApiOkResponse({ type: [TrendPointResponse] })
  @ApiValidationResponse(RANGE_ERRORS)
  @ApiNotFoundResponse(NO_USER)
  trends(@CurrentUser() actor: User, @Query() q: TrendsQueryDto): Promise<TrendPointResponse[]> {
    return this.dashboard.trends(actor, q);
  }

  /** Expected income, expenses and net for the coming months by least squares over the last 12 complete months (analyst, admin). */
  @Get('forecast')
  @Auth('GET /dashboard/forecast')
  @ApiMissingRatesResponse()
  @ApiOkResponse({ type: ForecastResponse })
  @ApiValidationResponse('Invalid months or userId')
  @ApiNotFoundResponse(NO_USER)
  forecast(@CurrentUser() actor: User, @Query() q: ForecastQueryDto): Promise<ForecastResponse> {
    return this.dashboard.forecast(actor, q);
  }
}
