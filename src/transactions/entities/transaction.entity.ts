import {
  Column,
  CreateDateColumn,
  DeleteDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

export const TRANSACTION_TYPES = ['income', 'expense'] as const;
export type TransactionType = (typeof TRANSACTION_TYPES)[number];

@Entity('transactions')
export class Transaction {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @Column({ type: 'enum', enum: TRANSACTION_TYPES, enumName: 'transaction_type' })
  type!: TransactionType;

  /** NUMERIC at exactly the currency's minor units, kept as a decimal string; never a JS number. */
  @Column({ type: 'numeric' })
  amount!: string;

  /** ISO 4217 code (common/currencies.ts). */
  @Column({ type: 'char', length: 3 })
  currency!: string;

  /** The owner's account the row is booked to, in the same currency; null when none. */
  @Column({ name: 'account_id', type: 'uuid', nullable: true })
  accountId!: string | null;

  @Column({ type: 'varchar', length: 64 })
  category!: string;

  /** Business date, `YYYY-MM-DD`. */
  @Column({ type: 'date' })
  date!: string;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  notes!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @DeleteDateColumn({ name: 'deleted_at', type: 'timestamptz' })
  deletedAt!: Date | null;
}
