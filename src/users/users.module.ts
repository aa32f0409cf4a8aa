import { Module } from '@nestjs/common';
import { ApiKeysRepositoryModule } from '../api-keys/api-keys-repository.module';
import { RefreshTokensModule } from '../auth/refresh-tokens.module';
import { PasswordHasher } from './password-hasher';
import { UsersController } from './users.controller';
import { UserCache } from './user-cache';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

// User changes revoke the user's refresh tokens (deactivation, a new password) and API keys
// (deactivation).
@Module({
  imports: [RefreshTokensModule, ApiKeysRepositoryModule],
  controllers: [UsersController],
  providers: [UsersService, UsersRepository, PasswordHasher, UserCache],
  exports: [UsersService, UsersRepository, PasswordHasher, UserCache],
})
export class UsersModule {}
