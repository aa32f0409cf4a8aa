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
import { etagOf } from '../common/etag';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import type { User } from '../users/entities/user.entity';
import { AccountsService } from './accounts.service';
import {
  AccountBalanceResponse,
  AccountListResponse,
  AccountResponse,
  accountPath,
} from './dto/account.response';
import { CreateAccountDto } from './dto/create-account.dto';
import { BalanceQueryDto, ListAccountsDto } from './dto/list-accounts.dto';
import { UpdateAccountDto } from './dto/update-account.dto';

@ApiTags('accounts')
@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  /** Open an account (analyst, admin). Admins may open one for another active user with `ownerId`. */
  @Post()
  @Auth('POST /accounts')
  @HttpCode(201)
  @ApiCreatedResponse({ type: AccountResponse, description: 'Created; `Location` points at it' })
  @ApiValidationResponse(
    'Invalid input, or an opening balance with more decimals than the currency has',
  )
  @ApiUnprocessableEntityResponse({
    type: ProblemResponse,
    description: '`ownerId` is not an active user',
  })
  async create(
    @CurrentUser() actor: User,
    @Body() dto: CreateAccountDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<AccountResponse> {
    const account = await this.accounts.create(actor, dto);
    res.header('Location', accountPath(account.id)).header('ETag', etagOf(account));
    return account;
  }

  /**
   * List your accounts, oldest first (admins and auditors: everyone's, `ownerId` narrows);
   * archived ones only with `includeArchived=true`. Cursor-paged: `meta: {limit, nextCursor}`.
   */
  @Get()
  @Auth('GET /accounts')
  @ApiOkResponse({ type: AccountListResponse })
  @ApiValidationResponse('Invalid filter, bad limit, or a cursor this list did not hand out')
  list(@CurrentUser() actor: User, @Query() q: ListAccountsDto): Promise<AccountListResponse> {
    return this.accounts.list(actor, q);
  }

  /** One account with its balance today. Someone else's (for analysts and viewers) is a 404. */
  @Get(':id')
  @Auth('GET /accounts/{id}')
  @ApiOkResponse({
    type: AccountResponse,
    description: 'The account; `ETag` identifies this version',
  })
  @ApiIfNoneMatch()
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such account visible to you' })
  async get(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<AccountResponse> {
    const account = await this.accounts.findOne(actor, id);
    res.header('ETag', etagOf(account));
    return account;
  }

  /**
   * The balance on `asOf` (default today, UTC): the opening balance plus live income, minus live
   * expenses, plus transfers in, minus transfers out, each dated on or before `asOf`. Rows dated
   * before the opening date count as well.
   */
  @Get(':id/balance')
  @Auth('GET /accounts/{id}/balance')
  @ApiOkResponse({ type: AccountBalanceResponse })
  @ApiValidationResponse('The id is not a UUID, or asOf is not a real date')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such account visible to you' })
  balance(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Query() q: BalanceQueryDto,
  ): Promise<AccountBalanceResponse> {
    return this.accounts.balance(actor, id, q.asOf);
  }

  /**
   * Rename, retype, archive or unarchive an account, or change its currency while nothing
   * references it (owner or admin; someone else's account is a 404 to an analyst).
   */
  @Patch(':id')
  @Auth('PATCH /accounts/{id}')
  @ApiOkResponse({ type: AccountResponse })
  @ApiValidationResponse()
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such account of yours' })
  @ApiConflictResponse({
    type: ProblemResponse,
    description:
      'A currency change while a transaction or transfer (deleted ones too) references it',
  })
  @ApiIfMatch()
  async update(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Body() dto: UpdateAccountDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<AccountResponse> {
    const account = await this.accounts.update(actor, id, dto, ifMatch);
    res.header('ETag', etagOf(account));
    return account;
  }

  /** Delete an account for good (admin), only while nothing references it: archive it otherwise. */
  @Delete(':id')
  @Auth('DELETE /accounts/{id}')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such account' })
  @ApiConflictResponse({
    type: ProblemResponse,
    description: 'A transaction or transfer (deleted ones too) references the account',
  })
  async remove(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<void> {
    await this.accounts.remove(actor, id);
  }
}
