import { Module } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys.repository';

/**
 * The API keys' repository on its own, like RefreshTokensModule: the users module needs it
 * (deactivating a user revokes its keys) and ApiKeysModule imports UsersModule, so importing
 * ApiKeysModule back would take a forwardRef.
 */
@Module({ providers: [ApiKeysRepository], exports: [ApiKeysRepository] })
export class ApiKeysRepositoryModule {}
