import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  ApiRateLimitResponse,
  ApiValidationResponse,
} from '../common/decorators/api-problems.decorator';
import { CurrentUser } from '../common/decorators/current-user.decorator';
import { Public } from '../common/decorators/public.decorator';
import { Auth } from '../common/decorators/roles.decorator';
import { LoginThrottle } from '../common/guards/throttlers';
import { ProblemResponse } from '../common/problem.response';
import { toUserResponse, UserResponse } from '../users/dto/user.response';
import type { User } from '../users/entities/user.entity';
import { AuthService } from './auth.service';
import { ChangePasswordDto } from './dto/change-password.dto';
import { LoginDto } from './dto/login.dto';
import { RefreshTokenDto } from './dto/refresh-token.dto';
import { TokenResponse } from './dto/token.response';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** Exchange email and password for an access token and a refresh token. */
  @Post('login')
  @Public('POST /auth/login')
  @LoginThrottle()
  @HttpCode(200)
  @ApiOkResponse({ type: TokenResponse })
  @ApiValidationResponse()
  @ApiUnauthorizedResponse({
    type: ProblemResponse,
    description: 'Wrong email or password, or an inactive user (one generic answer)',
  })
  @ApiRateLimitResponse()
  login(@Body() dto: LoginDto): Promise<TokenResponse> {
    return this.auth.login(dto.email, dto.password);
  }

  /** Rotate a refresh token; a reused token revokes its whole family. */
  @Post('refresh')
  @Public('POST /auth/refresh')
  @HttpCode(200)
  @ApiOkResponse({ type: TokenResponse })
  @ApiValidationResponse()
  @ApiUnauthorizedResponse({
    type: ProblemResponse,
    description: 'Unknown, expired, revoked or already used refresh token',
  })
  @ApiRateLimitResponse()
  refresh(@Body() dto: RefreshTokenDto): Promise<TokenResponse> {
    return this.auth.refresh(dto.refreshToken);
  }

  /** Revoke the refresh token's family (this login on every device it was rotated to). */
  @Post('logout')
  @Public('POST /auth/logout')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Logged out' })
  @ApiValidationResponse()
  @ApiRateLimitResponse()
  async logout(@Body() dto: RefreshTokenDto): Promise<void> {
    await this.auth.logout(dto.refreshToken);
  }

  /** The authenticated user. */
  @Get('me')
  @Auth('GET /auth/me')
  @ApiOkResponse({ type: UserResponse })
  @ApiRateLimitResponse()
  me(@CurrentUser() user: User): UserResponse {
    return toUserResponse(user);
  }

  /** Change your own password; revokes all your refresh tokens. */
  @Post('password')
  @Auth('POST /auth/password')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Password changed' })
  @ApiValidationResponse('Invalid input, or `currentPassword` is wrong')
  @ApiRateLimitResponse()
  async changePassword(@CurrentUser() user: User, @Body() dto: ChangePasswordDto): Promise<void> {
    await this.auth.changePassword(user.id, dto.currentPassword, dto.newPassword);
  }
}
