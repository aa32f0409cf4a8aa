import { Module } from '@nestjs/common';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository';
import { PasswordHasher } from './password-hasher';
import { UsersController } from './users.controller';
import { UserCache } from './user-cache';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

// The refresh tokens' repository lives here because user changes (deactivation, a new password)
// revoke them; the auth module gets it through this module's exports.
@Module({
  controllers: [UsersController],
  providers: [UsersService, UsersRepository, RefreshTokensRepository, PasswordHasher, UserCache],
  exports: [UsersService, UsersRepository, RefreshTokensRepository, PasswordHasher],
})
export class UsersModule {}
