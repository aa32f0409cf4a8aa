import { Injectable, Logger } from '@nestjs/common';
import { TransactionsRepository } from './transactions.repository';

/** A write of more than this share of the table's rows refreshes the table's statistics. */
const SHARE = 0.1;

/**
 * Planner statistics right after a bulk write (docs/operations.md, "Planner statistics").
 * Autovacuum analyzes a table once a tenth of it has changed, but only on its next round, and
 * never where it is off or slow; until then the planner plans for the table as it was (empty,
 * before a first import: a sequential scan and a sort instead of the index, 20 times slower). So
 * a committed write of more than a tenth of the table asks for ANALYZE itself, outside the request.
 * Writes that arrive while one runs share a single further run after it.
 */
@Injectable()
export class PlannerStatistics {
  private readonly logger = new Logger(PlannerStatistics.name);
  private running?: Promise<void>;
  private next?: Promise<void>;

  constructor(private readonly repo: TransactionsRepository) {}

  /** After the commit of a write of `rows` rows: returns at once, analyzing in the background when due. */
  afterBulkWrite(rows: number): void {
    void this.refresh(rows).catch((error: unknown) =>
      this.logger.warn(`ANALYZE after a bulk write failed: ${String(error)}`),
    );
  }

  /** The same, awaited (a background job can wait for it); true when it analyzed. */
  async refresh(rows: number): Promise<boolean> {
    const estimate = await this.repo.plannerRowEstimate();
    if (estimate >= 0 && rows <= estimate * SHARE) return false;
    await this.analyze();
    return true;
  }

  private analyze(): Promise<void> {
    if (this.running) {
      // The run under way may have taken its sample before this write committed.
      this.next ??= this.running
        .catch(() => undefined)
        .then(() => {
          this.next = undefined;
          return this.analyze();
        });
      return this.next;
    }
    this.running = this.repo.analyze().finally(() => (this.running = undefined));
    return this.running;
  }
}
