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
  ApiConflictResponse,
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
  ApiValidationResponse,
} from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { pageMeta } from '../common/pagination';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import type { User } from '../users/entities/user.entity';
import { CreateTransactionDto } from './dto/create-transaction.dto';
import { DeleteTransactionQueryDto } from './dto/delete-transaction-query.dto';
import { ListTransactionsDto } from './dto/list-transactions.dto';
import {
  TransactionListResponse,
  TransactionResponse,
  transactionPath,
} from './dto/transaction.response';
import { UpdateTransactionDto } from './dto/update-transaction.dto';
import { etagOf } from '../common/etag';
import {
  HeldIdempotencyClaim,
  Idempotent,
  type KeyedClaim,
} from '../idempotency/idempotency.interceptor';
import { TransactionListService } from './transaction-list.service';
import { TransactionsService } from './transactions.service';

@ApiTags('transactions')
@Controller('transactions')
export class TransactionsController {
  constructor(
    private readonly transactions: TransactionsService,
    private readonly lists: TransactionListService,
  ) {}

  /** Record a transaction (analyst, admin). Admins may record for another active user with `ownerId`. */
  @Post()
  @Auth('POST /transactions')
  @HttpCode(201)
  @Idempotent()
  @ApiCreatedResponse({
    type: TransactionResponse,
    description: 'Created; `Location` points at it',
  })
  @ApiValidationResponse()
  @ApiUnprocessableEntityResponse({
    type: ProblemResponse,
    description: '`ownerId` is not an active user',
  })
  async create(
    @CurrentUser() actor: User,
    @Body() dto: CreateTransactionDto,
    @Res({ passthrough: true }) res: FastifyReply,
    @HeldIdempotencyClaim() claim?: KeyedClaim,
  ): Promise<TransactionResponse> {
    const row = await this.transactions.create(actor, dto, claim);
    res.header('Location', transactionPath(row.id)).header('ETag', etagOf(row));
    return row;
  }

  /**
   * List your transactions (admins: everyone's, `ownerId` narrows). Page mode by default
   * (`meta: {page, limit, total, totalPages}`); send `cursor=` (empty) for keyset mode
   * (`meta: {limit, nextCursor}`), whose cost does not grow with depth.
   */
  @Get()
  @Auth('GET /transactions')
  @ApiOkResponse({
    type: TransactionListResponse,
    description: 'A page of transactions; the meta shape depends on the mode',
  })
  @ApiValidationResponse(
    'Invalid filter, both page and cursor, a forged cursor, from > to or minAmount > maxAmount',
  )
  async list(
    @CurrentUser() actor: User,
    @Query() query: ListTransactionsDto,
  ): Promise<TransactionListResponse> {
    const result = await this.lists.list(actor, query);
    return result.mode === 'page'
      ? { data: result.rows, meta: pageMeta(result.page, result.limit, result.total) }
      : { data: result.rows, meta: { limit: result.limit, nextCursor: result.nextCursor } };
  }

  /** One transaction. Someone else's (for non-admins) or a deleted one is a 404. */
  @Get(':id')
  @Auth('GET /transactions/{id}')
  @ApiOkResponse({
    type: TransactionResponse,
    description: 'The transaction; `ETag` identifies this version',
  })
  @ApiIfNoneMatch()
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({
    type: ProblemResponse,
    description: 'No such live transaction visible to you',
  })
  async get(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<TransactionResponse> {
    const row = await this.transactions.findOne(actor, id);
    res.header('ETag', etagOf(row));
    return row;
  }

  /** Change any of type, amount, category, date, notes (admin). */
  @Patch(':id')
  @Auth('PATCH /transactions/{id}')
  @ApiOkResponse({ type: TransactionResponse })
  @ApiValidationResponse()
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such live transaction' })
  @ApiIfMatch()
  async update(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Body() dto: UpdateTransactionDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<TransactionResponse> {
    const row = await this.transactions.update(actor, id, dto, ifMatch);
    res.header('ETag', etagOf(row));
    return row;
  }

  /**
   * Soft-delete (admin); a second delete is a 404. With `permanent=true`, delete for good, live or
   * soft-deleted: no restore, then a 404 everywhere.
   */
  @Delete(':id')
  @Auth('DELETE /transactions/{id}')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiValidationResponse('The id is not a UUID, or `permanent` is not true or false')
  @ApiNotFoundResponse({
    type: ProblemResponse,
    description: 'No such live transaction (with `permanent=true`: no such transaction at all)',
  })
  async remove(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Query() query: DeleteTransactionQueryDto,
  ): Promise<void> {
    if (query.permanent) await this.transactions.purge(actor, id);
    else await this.transactions.remove(actor, id);
  }

  /** Undo a soft delete (admin). */
  @Post(':id/restore')
  @Auth('POST /transactions/{id}/restore')
  @HttpCode(200)
  @ApiOkResponse({ type: TransactionResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such transaction' })
  @ApiConflictResponse({ type: ProblemResponse, description: 'The transaction is not deleted' })
  restore(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
  ): Promise<TransactionResponse> {
    return this.transactions.restore(actor, id);
  }
}
