import { Module } from '@nestjs/common';
import { RefreshTokensRepository } from './refresh-tokens.repository';

/**
 * The refresh tokens' repository, provided by the auth side that owns the table. Its own module,
 * not AuthModule's, because the users module needs it too (deactivation and a new password revoke
 * a user's tokens) and AuthModule imports UsersModule: importing AuthModule back would take a
 * forwardRef.
 */
@Module({ providers: [RefreshTokensRepository], exports: [RefreshTokensRepository] })
export class RefreshTokensModule {}
