import {
  Body,
  Controller,
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
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import {
  ApiIfMatch,
  ApiIfNoneMatch,
  ApiValidationResponse,
} from '../common/decorators/api-problems.decorator';
import { etagOf } from '../common/etag';
import { pageMeta } from '../common/pagination';
import { ProblemResponse } from '../common/problem.response';
import { ParseId } from '../common/validation';
import { CreateUserDto } from './dto/create-user.dto';
import { ListUsersDto } from './dto/list-users.dto';
import { UpdateUserDto } from './dto/update-user.dto';
import { toUserResponse, UserListResponse, UserResponse } from './dto/user.response';
import type { User } from './entities/user.entity';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Create a user (admin). */
  @Post()
  @Auth('POST /users')
  @HttpCode(201)
  @ApiCreatedResponse({
    type: UserResponse,
    description: 'Created; `Location` points at the new user',
  })
  @ApiValidationResponse()
  @ApiConflictResponse({
    type: ProblemResponse,
    description: 'The email is taken (case-insensitive)',
  })
  async create(
    @CurrentUser() actor: User,
    @Body() dto: CreateUserDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<UserResponse> {
    const user = toUserResponse(await this.users.create(actor, dto));
    res.header('Location', `/api/v1/users/${user.id}`).header('ETag', etagOf(user));
    return user;
  }

  /** List users (admins; auditors with emails masked), oldest first. */
  @Get()
  @Auth('GET /users')
  @ApiOkResponse({ type: UserListResponse })
  @ApiValidationResponse()
  async list(@CurrentUser() reader: User, @Query() query: ListUsersDto): Promise<UserListResponse> {
    const { rows, total, page, limit } = await this.users.list(reader, query);
    return { data: rows.map(toUserResponse), meta: pageMeta(page, limit, total) };
  }

  /** One user: admins and auditors may read anyone (auditors with the email masked), others only themselves. */
  @Get(':id')
  @Auth('GET /users/{id}')
  @ApiOkResponse({ type: UserResponse })
  @ApiValidationResponse('The id is not a UUID')
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such user, or not yours to see' })
  @ApiIfNoneMatch()
  async get(
    @Param('id', ParseId) id: string,
    @CurrentUser() actor: User,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<UserResponse> {
    const user = toUserResponse(await this.users.read(id, actor));
    res.header('ETag', etagOf(user));
    return user;
  }

  /** Update name, role, activation or password (admin; a password only from a signed-in session, never with an API key: 403). */
  @Patch(':id')
  @Auth('PATCH /users/{id}')
  @ApiOkResponse({ type: UserResponse })
  @ApiValidationResponse()
  @ApiNotFoundResponse({ type: ProblemResponse, description: 'No such user' })
  @ApiConflictResponse({
    type: ProblemResponse,
    description: 'Would demote or deactivate the last active admin',
  })
  @ApiIfMatch()
  async update(
    @CurrentUser() actor: User,
    @Param('id', ParseId) id: string,
    @Body() dto: UpdateUserDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<UserResponse> {
    const user = toUserResponse(await this.users.update(actor, id, dto, ifMatch));
    res.header('ETag', etagOf(user));
    return user;
  }
}
