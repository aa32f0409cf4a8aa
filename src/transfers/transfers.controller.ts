import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
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
import { ApiIfNoneMatch, ApiValidationResponse } from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { etagOf } from '../common/etag';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import type { User } from '../users/entities/user.entity';
import { CreateTransferDto } from './dto/create-transfer.dto';
import { ListTransfersDto } from './dto/list-transfers.dto';
import { TransferListResponse, TransferResponse, transferPath } from './dto/transfer.response';
import { TransfersService } from './transfers.service';

@ApiTags('transfers')
@Controller('transfers')
export class TransfersController {
  constructor(private readonly transfers: TransfersService) {}

  /**
   * Move money between two accounts of one owner (analysts: their own accounts; admins: anyone's).
   * Neither income nor expense: it shows in the two accounts' balances only.
   */
  @Post()
  @Auth('POST /transfers')
  @HttpCode(201)
  @ApiCreatedResponse({ type: TransferResponse, description: 'Created; `Location` points at it' })
  @ApiValidationResponse(
    'Invalid input, or an amount with more decimals than its account currency has',
  )
  @ApiUnprocessableEntityResponse({
    type: ProblemResponse,
    description:
      'The same account twice, an account that is not yours (analysts) or does not exist, an archived account, accounts of different owners, or `toAmount` missing for different currencies or unequal for one currency',
  })
  async create(
    @CurrentUser() actor: User,
    @Body() dto: CreateTransferDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<TransferResponse> {
    const transfer = await this.transfers.create(actor, dto);
    res.header('Location', transferPath(transfer.id)).header('ETag', etagOf(transfer));
    return transfer;
  }

  /**
   * List your live transfers, newest first (admins and auditors: everyone's, auditors with notes
   * masked); `accountId` matches either leg. Cursor-paged: `meta: {limit, nextCursor}`.
   */
  @Get()
  @Auth('GET /transfers')
  @ApiOkResponse({ type: TransferListResponse })
  @ApiValidationResponse('Invalid filter, from > to, or a cursor this list did not hand out')
  list(@CurrentUser() actor: User, @Query() q: ListTransfersDto): Promise<TransferListResponse> {
    return this.transfers.list(actor, q);
  }

  /** One transfer. Someone else's (for analysts and viewers) or a deleted one is a 404. */
  @Get(':id')
  @Auth('GET /transfers/{id}')
  @ApiOkResponse({
    type: TransferResponse,
    description: 'The transfer; `ETag` identifies this version',
  })
  @ApiIfNoneMatch()
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({
    type: ProblemResponse,
    description: 'No such live transfer visible to you',
  })
  async get(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<TransferResponse> {
    const transfer = await this.transfers.findOne(actor, id);
    res.header('ETag', etagOf(transfer));
    return transfer;
  }

  /** Soft-delete (admin): both legs leave the balances. A second delete is a 404. */
  @Delete(':id')
  @Auth('DELETE /transfers/{id}')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such live transfer' })
  async remove(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<void> {
    await this.transfers.remove(actor, id);
  }

  /** Undo a soft delete (admin). */
  @Post(':id/restore')
  @Auth('POST /transfers/{id}/restore')
  @HttpCode(200)
  @ApiOkResponse({ type: TransferResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such transfer' })
  @ApiConflictResponse({ type: ProblemResponse, description: 'The transfer is not deleted' })
  restore(@CurrentUser() actor: User, @Param('id', ParseId) id: string): Promise<TransferResponse> {
    return this.transfers.restore(actor, id);
  }
}
