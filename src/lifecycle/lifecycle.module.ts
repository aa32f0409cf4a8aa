import { Module } from '@nestjs/common';
import { TransactionsModule } from '../transactions/transactions.module';
import { TrashPurge } from './trash-purge.service';

/** Data lifecycle (docs/api.md section 17): the trash purge. */
@Module({ imports: [TransactionsModule], providers: [TrashPurge] })
export class LifecycleModule {}
