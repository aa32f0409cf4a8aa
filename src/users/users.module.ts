import { Module } from '@nestjs/common';
import { RefreshTokensModule } from '../auth/refresh-tokens.module';
import { PasswordHasher } from './password-hasher';
import { UsersController } from './users.controller';
import { UserCache } from './user-cache';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

// User changes (deactivation, a new password) revoke the user's refresh tokens.
@Module({
  imports: [RefreshTokensModule],
  controllers: [UsersController],
  providers: [UsersService, UsersRepository, PasswordHasher, UserCache],
  exports: [UsersService, UsersRepository, PasswordHasher],
})
export class UsersModule {}
