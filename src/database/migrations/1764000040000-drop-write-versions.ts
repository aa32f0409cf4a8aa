import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createWriteVersions, dropWriteVersions } from '../write-versions';

/**
 * The per-owner write versions are no longer read by anything: cached totals are kept exact by
 * the change log (transaction-changes migration). Their four statement triggers still ran on
 * every write, each an upsert of a version row held locked until commit.
 */
export class DropWriteVersions1764000040000 implements MigrationInterface {
  name = 'DropWriteVersions1764000040000';

  async up(q: QueryRunner): Promise<void> {
    await dropWriteVersions(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await createWriteVersions(q);
  }
}
