import { Injectable } from '@nestjs/common';
import { type Queryable, query } from '../database/sql';

/** All SQL of the accounts feature. */

/** What a write booked to an account needs to know of it. */
export interface BookingAccount {
  id: string;
  ownerId: string;
  currency: string;
  archived: boolean;
}

@Injectable()
export class AccountsRepository {
  /**
   * The account a transaction or transfer is about to reference. Should it be deleted or change
   * currency before the write commits, the (account, owner, currency) foreign key refuses the write.
   */
  async findForBooking(db: Queryable, id: string): Promise<BookingAccount | undefined> {
    const [row] = await query<BookingAccount>(
      db,
      `SELECT id, owner_id AS "ownerId", currency, archived FROM accounts WHERE id = $1`,
      [id],
    );
    return row;
  }

  /** Every account of one owner, for an import that judges many rows at once. */
  async ownedBy(db: Queryable, ownerId: string): Promise<BookingAccount[]> {
    return query<BookingAccount>(
      db,
      `SELECT id, owner_id AS "ownerId", currency, archived FROM accounts WHERE owner_id = $1`,
      [ownerId],
    );
  }
}
