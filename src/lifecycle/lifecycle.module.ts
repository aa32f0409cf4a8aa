import { Module } from '@nestjs/common';
import { ApiKeysRepositoryModule } from '../api-keys/api-keys-repository.module';
import { RefreshTokensModule } from '../auth/refresh-tokens.module';
import { TransactionsModule } from '../transactions/transactions.module';
import { UsersModule } from '../users/users.module';
import { ErasureController } from './erasure.controller';
import { ErasureRepository } from './erasure.repository';
import { ErasureService } from './erasure.service';
import { TrashPurge } from './trash-purge.service';

/** Data lifecycle (docs/api.md section 17): the trash purge and erasure. */
@Module({
  imports: [TransactionsModule, UsersModule, RefreshTokensModule, ApiKeysRepositoryModule],
  controllers: [ErasureController],
  providers: [TrashPurge, ErasureService, ErasureRepository],
})
export class LifecycleModule {}
