import {
  Column,
  CreateDateColumn,
  DeleteDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

/**
 * Money moved between two accounts of one owner (money migration). Both legs live in this one
 * row, so they commit (and are deleted or restored) together.
 */
@Entity('transfers')
export class Transfer {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @Column({ name: 'from_account_id', type: 'uuid' })
  fromAccountId!: string;

  @Column({ name: 'to_account_id', type: 'uuid' })
  toAccountId!: string;

  /** Leaves the source account: NUMERIC at its currency's minor units, a decimal string. */
  @Column({ type: 'numeric' })
  amount!: string;

  /** The source account's currency. */
  @Column({ type: 'char', length: 3 })
  currency!: string;

  /** Arrives in the destination account, at its currency's minor units. */
  @Column({ name: 'to_amount', type: 'numeric' })
  toAmount!: string;

  @Column({ name: 'to_currency', type: 'char', length: 3 })
  toCurrency!: string;

  /** toAmount / amount, rounded half to even to 10 decimals. */
  @Column({ type: 'numeric' })
  rate!: string;

  @Column({ type: 'date' })
  date!: string;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  notes!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @DeleteDateColumn({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;
}
