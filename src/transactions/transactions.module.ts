import { Module } from '@nestjs/common';
import { ChangeLogPruner } from './change-log-pruner';
import { TransactionsCsvController } from './csv/transactions-csv.controller';
import { TransactionsCsvService } from './csv/transactions-csv.service';
import { TransactionsController } from './transactions.controller';
import { TransactionsRepository } from './transactions.repository';
import { TransactionsService } from './transactions.service';

@Module({
  // The CSV controller comes first so /transactions/export is matched before /transactions/:id.
  controllers: [TransactionsCsvController, TransactionsController],
  providers: [TransactionsService, TransactionsRepository, TransactionsCsvService, ChangeLogPruner],
  exports: [TransactionsService, TransactionsRepository],
})
export class TransactionsModule {}
