import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { warnUnlessUnavailable } from '../common/filters/database-incidents';
import { TransactionsRepository } from './transactions.repository';

/** How often the change log is pruned; a cached total survives one to two of these. */
export const PRUNE_INTERVAL_SECONDS = 300;

/**
 * Keeps the change log behind cached search totals small (see the transaction-changes
 * migration). Every instance tries on the same schedule; the database lets one prune per interval.
 */
@Injectable()
export class ChangeLogPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ChangeLogPruner.name);
  private timer?: NodeJS.Timeout;

  constructor(private readonly repo: TransactionsRepository) {}

  onApplicationBootstrap(): void {
    void this.prune();
    this.timer = setInterval(() => void this.prune(), PRUNE_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async prune(): Promise<void> {
    try {
      // A little under the interval, so two instances' timers never skip a round between them.
      await this.repo.pruneChanges(PRUNE_INTERVAL_SECONDS - 10);
    } catch (error) {
      // Only the log grows meanwhile; totals stay exact.
      const message = `change log prune failed: ${(error as Error).message}`;
      warnUnlessUnavailable(this.logger, 'change log pruner', error, message);
    }
  }
}
