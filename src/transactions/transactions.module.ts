import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { ChangeLogPruner } from './change-log-pruner';
import { TransactionsCsvController } from './csv/transactions-csv.controller';
import { TransactionsCsvService } from './csv/transactions-csv.service';
import { ImportJobsService } from './csv/import-jobs.service';
import { ImportsController } from './csv/imports.controller';
import { ImportsRepository } from './csv/imports.repository';
import { PlannerStatistics } from './planner-statistics';
import { TransactionBatchController } from './transaction-batch.controller';
import { TransactionBatchService } from './transaction-batch.service';
import { TransactionListService } from './transaction-list.service';
import { TransactionsController } from './transactions.controller';
import { TransactionsRepository } from './transactions.repository';
import { TransactionsService } from './transactions.service';

@Module({
  imports: [AccountsModule],
  // The CSV controller comes first so /transactions/export is matched before /transactions/:id.
  controllers: [
    TransactionsCsvController,
    TransactionsController,
    TransactionBatchController,
    ImportsController,
  ],
  providers: [
    TransactionsService,
    TransactionListService,
    TransactionBatchService,
    TransactionsRepository,
    TransactionsCsvService,
    ImportJobsService,
    ImportsRepository,
    ChangeLogPruner,
    PlannerStatistics,
  ],
  exports: [TransactionsService, TransactionsRepository, PlannerStatistics],
})
export class TransactionsModule {}
