import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  ApiIfMatch,
  ApiIfNoneMatch,
  ApiMissingRatesResponse,
  ApiValidationResponse,
} from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { etagOf } from '../common/etag';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import type { User } from '../users/entities/user.entity';
import { BudgetsService } from './budgets.service';
import {
  BudgetListResponse,
  BudgetResponse,
  BudgetStatusResponse,
  budgetPath,
} from './dto/budget.response';
import { CreateBudgetDto } from './dto/create-budget.dto';
import { BudgetStatusQueryDto, ListBudgetsDto } from './dto/list-budgets.dto';
import { UpdateBudgetDto } from './dto/update-budget.dto';

@ApiTags('budgets')
@Controller('budgets')
export class BudgetsController {
  constructor(private readonly budgets: BudgetsService) {}

  /**
   * Create a budget (analyst, admin; admins may create one for another active user with
   * `ownerId`). Creating a budget emits no threshold event, whatever is already spent.
   */
  @Post()
  @Auth('POST /budgets')
  @HttpCode(201)
  @ApiCreatedResponse({ type: BudgetResponse, description: 'Created; `Location` points at it' })
  @ApiValidationResponse(
    'Invalid input: an amount with more decimals than its currency has, thresholds outside 1-1000, duplicated or more than 10',
  )
  @ApiUnprocessableEntityResponse({
    type: ProblemResponse,
    description: '`ownerId` is not an active user',
  })
  async create(
    @CurrentUser() actor: User,
    @Body() dto: CreateBudgetDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<BudgetResponse> {
    const budget = await this.budgets.create(actor, dto);
    res.header('Location', budgetPath(budget.id)).header('ETag', etagOf(budget));
    return budget;
  }

  /**
   * List your budgets, oldest first (admins and auditors: everyone's, `ownerId` narrows).
   * Cursor-paged: `meta: {limit, nextCursor}`.
   */
  @Get()
  @Auth('GET /budgets')
  @ApiOkResponse({ type: BudgetListResponse })
  @ApiValidationResponse('Invalid filter, bad limit, or a cursor this list did not hand out')
  list(@CurrentUser() actor: User, @Query() q: ListBudgetsDto): Promise<BudgetListResponse> {
    return this.budgets.list(actor, q);
  }

  /** One budget. Someone else's (for analysts and viewers) is a 404. */
  @Get(':id')
  @Auth('GET /budgets/{id}')
  @ApiOkResponse({
    type: BudgetResponse,
    description: 'The budget; `ETag` identifies this version',
  })
  @ApiIfNoneMatch()
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such budget visible to you' })
  async get(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<BudgetResponse> {
    const budget = await this.budgets.findOne(actor, id);
    res.header('ETag', etagOf(budget));
    return budget;
  }

  /**
   * Spending against the budget in one period (default the current one): the owner's live
   * expenses in the category (case-insensitive; all expenses when the budget has none) dated in
   * the period, from the dashboards' rollups, each day's rows converted into the budget's currency
   * at that day's rate and rounded once, half to even. `period` takes the budget's form:
   * `2026-12` (month), `2026-Q4` (quarter), `2026` (year).
   */
  @Get(':id/status')
  @Auth('GET /budgets/{id}/status')
  @ApiOkResponse({ type: BudgetStatusResponse })
  @ApiValidationResponse('The id is not a UUID, or the period is not in the budget’s form')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such budget visible to you' })
  @ApiMissingRatesResponse()
  status(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Query() q: BudgetStatusQueryDto,
  ): Promise<BudgetStatusResponse> {
    return this.budgets.status(actor, id, q.period);
  }

  /**
   * Change a budget (owner or admin; someone else's is a 404 to an analyst). Emits no threshold
   * event; alerts already sent in a period stay sent.
   */
  @Patch(':id')
  @Auth('PATCH /budgets/{id}')
  @ApiOkResponse({ type: BudgetResponse })
  @ApiValidationResponse()
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such budget of yours' })
  @ApiIfMatch()
  async update(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Body() dto: UpdateBudgetDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<BudgetResponse> {
    const budget = await this.budgets.update(actor, id, dto, ifMatch);
    res.header('ETag', etagOf(budget));
    return budget;
  }

  /** Delete a budget for good (owner or admin). */
  @Delete(':id')
  @Auth('DELETE /budgets/{id}')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such budget of yours' })
  async remove(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<void> {
    await this.budgets.remove(actor, id);
  }
}
